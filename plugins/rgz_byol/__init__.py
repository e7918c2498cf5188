"""BYOL on Radio Galaxy Zoo DR1 (Slijepcevic et al. 2024, RASTI 3, 19), from inigoval/byol.

The network is a ResNet-18 with a 3x3 stride-1 first convolution (max-pool kept) on
single-channel 70x70 inputs: the centre 70 pixels of 150x150 FIRST cutouts, normalised
with the RGZ statistics from the authors' code.
"""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, hookimpl


@hookimpl
def radiobench_register_backbones(register):
    register(BackboneSpec(
        name="rgz_byol_resnet18",
        factory="radiobench_plugins.rgz_byol.models:ByolResNet18",
        embed_dim=512,
        input=InputContract(channels=1, size=70, mean=(0.008008896,), std=(0.05303395,), interpolation="bilinear",
                            crop_fraction=70 / 150),
        weights=WeightsSpec(kind="url", url="https://www.dropbox.com/s/3ai64rgtzeim682/byol.ckpt?dl=1", filename="byol.ckpt",
                            source_page="https://github.com/inigoval/byol (branch reproduce)",
                            description="PyTorch Lightning checkpoint; the online encoder is used"),
        family="radio-galaxy-zoo",
        training_data=("RGZ DR1", "FIRST"),
        license="see inigoval/byol",
        citation="Slijepcevic et al. 2024, RASTI 3, 19 (arXiv:2305.16127)",
        description="BYOL online encoder, average-pooled 512-d features",
    ))
