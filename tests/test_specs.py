import pytest

from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec, resolve_factory


def test_input_contract_rejects_inconsistent_channels():
    with pytest.raises(ValueError, match="one value per channel"):
        InputContract(channels=1, mean=(0.5, 0.5, 0.5), std=(0.2,))
    with pytest.raises(ValueError, match="1 or 3"):
        InputContract(channels=2, mean=(0, 0), std=(1, 1))


@pytest.mark.parametrize("factory", ["module", "module:", ":callable", ""])
def test_factory_must_name_module_and_callable(factory):
    with pytest.raises(ValueError, match="module:callable"):
        BackboneSpec(name="x", factory=factory, embed_dim=4)


@pytest.mark.parametrize("name", ["", "all", "has space", "a/b"])
def test_names_that_would_break_cli_or_file_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid name"):
        BackboneSpec(name=name, factory="m:f", embed_dim=4)


def test_weights_identity_distinguishes_sources():
    assert WeightsSpec(kind="random", seed=0).static_identity != WeightsSpec(kind="random", seed=1).static_identity
    published = WeightsSpec(kind="url", url="https://example.org/w.pth", filename="w.pth", sha256="ab" * 32)
    assert published.static_identity == "sha256:" + "ab" * 32
    # without a published checksum the identity comes from the file itself, once resolved
    assert WeightsSpec(kind="url", url="https://example.org/w.pth", filename="w.pth").static_identity is None


def test_weights_spec_requires_its_source_fields():
    with pytest.raises(ValueError, match="need 'hf_filename'"):
        WeightsSpec(kind="hf_hub", hf_repo="org/model", filename="model.safetensors")


def test_task_spec_requires_train_and_test_splits():
    with pytest.raises(ValueError, match="splits must include"):
        TaskSpec(name="t", factory="m:f", version="1", kind="classification", main_score="error",
                 higher_is_better=False, splits=("train",))


def test_resolve_factory_imports_lazily():
    assert resolve_factory("radiobench.testing:FakeBackbone").__name__ == "FakeBackbone"


def test_the_kind_supplies_the_main_scores_direction():
    """A task re-stated ``higher_is_better`` that its kind already knows; now the kind supplies it."""
    def spec(**given):
        return TaskSpec(name="t", factory="m:f", version="1", kind="classification", **given)

    assert spec(main_score="error").higher_is_better is False
    assert spec(main_score="f1_macro").higher_is_better is True
    assert TaskSpec(name="t", factory="m:f", version="1", kind="detection", main_score="map").higher_is_better is True
    # a plugin written before still passes it: accepted while it agrees, refused when it contradicts the kind
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stated = spec(main_score="error", higher_is_better=False)
    assert stated == spec(main_score="error") and stated.to_dict()["higher_is_better"] is False
    with pytest.raises(ValueError, match="error is lower-is-better on classification tasks; leave higher_is_better out"):
        spec(main_score="error", higher_is_better=True)
    # dataclasses.replace carries the settled direction along
    import dataclasses

    assert dataclasses.replace(spec(main_score="error"), version="2").higher_is_better is False


def test_a_main_score_the_kind_does_not_know_states_its_direction():
    with pytest.raises(ValueError, match="'purity' is not a classification metric.*set higher_is_better"):
        TaskSpec(name="t", factory="m:f", version="1", kind="classification", main_score="purity")
    own = TaskSpec(name="t", factory="m:f", version="1", kind="classification", main_score="purity", higher_is_better=True)
    assert own.higher_is_better is True


def test_kinds_does_not_import_specs():
    """kinds.py sits below specs.py (specs imports it): a spec is only something with a name, main score, partition."""
    import ast
    from pathlib import Path

    import radiobench.kinds

    tree = ast.parse(Path(radiobench.kinds.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith("radiobench.specs") for m in imported)


@pytest.mark.slow  # ~6 s: the knn board's column tests, twice
def test_a_task_version_names_its_preregistration_page_and_freeze_commit():
    from dataclasses import replace
    from pathlib import Path

    import pytest

    from radiobench.board.collect import collect
    from radiobench.board.render import to_html_page
    from radiobench.registry import get_registry

    spec = get_registry().task("mirabest").spec
    with pytest.raises(ValueError, match="give 'docs/PAGE.md@COMMIT'"):
        replace(spec, preregistration="docs/preregistration.md")  # no commit: not a frozen version
    frozen = replace(spec, preregistration="docs/preregistration-x.md@0123abc")
    results = Path(__file__).resolve().parents[1] / "leaderboard" / "results"
    page = to_html_page({"knn": collect(results, protocol="knn", specs={"mirabest": frozen})})
    assert ("<b>Pre-registered:</b> <code>docs/preregistration-x.md</code>, frozen at commit <code>0123abc</code>"
            in page)
    assert "Pre-registered" not in to_html_page({"knn": collect(results, protocol="knn", specs={"mirabest": spec})})
