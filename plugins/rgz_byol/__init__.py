"""BYOL on Radio Galaxy Zoo DR1 (Slijepcevic et al. 2024, RASTI 3, 19), from inigoval/byol.

The network is a ResNet-18 with a 3x3 stride-1 first convolution (max-pool kept) on
single-channel 70x70 inputs: the centre 70 pixels of 150x150 FIRST cutouts (1.8"/px, so
126" of sky), normalised with the RGZ statistics from the authors' code.

The crop is declared in sky units, ``centre_crop(pixels=70, native_scale_arcsec=1.8)``, so the
network sees the same 126" on every task, whatever its cutouts' size: 70 of MiraBest's 150
pixels and 70 of RGD's 300 (version 1 cropped a fraction, 70/150, of each cutout: 140 of
RGD's 300 pixels, shrunk 2x to 3.6"/px). A task without a declared pixel scale
(``TaskSpec.pixel_scale_arcsec``) is refused in one line; dense (detection) tasks see the
whole image, as before.
"""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, centre_crop, hookimpl

# 70 native FIRST pixels (1.8"/px): the centre the network was trained on, 126" of sky
CROP = centre_crop(pixels=70, native_scale_arcsec=1.8)


@hookimpl
def radiobench_register_backbones(register):
    register(BackboneSpec(
        name="rgz_byol_resnet18",
        factory="radiobench_plugins.rgz_byol.models:ByolResNet18",
        embed_dim=512,
        input=InputContract(channels=1, size=70, mean=(0.008008896,), std=(0.05303395,), interpolation="bilinear",
                            transforms=(CROP,)),
        weights=WeightsSpec(kind="url", url="https://www.dropbox.com/s/3ai64rgtzeim682/byol.ckpt?dl=1", filename="byol.ckpt",
                            source_page="https://github.com/inigoval/byol (branch reproduce)",
                            description="PyTorch Lightning checkpoint; the online encoder is used"),
        family="radio-galaxy-zoo",
        training_data=("RGZ DR1", "FIRST"),
        license="see inigoval/byol",
        citation="Slijepcevic et al. 2024, RASTI 3, 19 (arXiv:2305.16127)",
        description="BYOL online encoder, average-pooled 512-d features",
        # 2: the centre crop is 126" of sky (70 FIRST pixels) on every task, not 70/150 of each cutout
        version="2",
    ))
