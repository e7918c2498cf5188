"""Resumable, hash-checked downloads against a loopback server that honours Range."""

import hashlib
import http.server
import threading

import pytest

from radiobench.io.download import download
from radiobench.errors import ChecksumError, DatasetNotFoundError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class RangeHandler(http.server.BaseHTTPRequestHandler):
    served: list = []

    def do_GET(self):
        if self.path != "/weights.bin":
            self.send_error(404)
            return
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        RangeHandler.served.append((rng, len(body)))

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    RangeHandler.served = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_interrupted_download_resumes_from_the_part_file(server, tmp_path):
    dest = tmp_path / "weights.bin"
    (tmp_path / "weights.bin.part").write_bytes(PAYLOAD[:300_000])
    assert download(f"{server}/weights.bin", dest, SHA) == SHA
    assert dest.read_bytes() == PAYLOAD
    assert RangeHandler.served == [("bytes=300000-", len(PAYLOAD) - 300_000)]  # only the rest was sent
    assert not (tmp_path / "weights.bin.part").exists()


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    dest = tmp_path / "weights.bin"
    with pytest.raises(ChecksumError, match="not the published"):
        download(f"{server}/weights.bin", dest, "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_unknown_hash_is_computed_and_stored_beside_the_file(server, tmp_path):
    dest = tmp_path / "weights.bin"
    assert download(f"{server}/weights.bin", dest) == SHA
    assert (tmp_path / "weights.bin.sha256").read_text().split()[0] == SHA


def test_unreachable_url_says_what_to_do(server, tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"could not download .*missing.*download it by hand to"):
        download(f"{server}/missing", tmp_path / "w.bin", SHA)
