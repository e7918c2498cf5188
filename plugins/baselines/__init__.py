"""Baselines that need no download: raw pixels, seeded random-init twins and pyBDSF.

They bound the leaderboard from below: a pretrained backbone that cannot beat raw
pixels or the same architecture with random weights has learned nothing that task
can use. Each twin takes the input contract of the pretrained model it controls for
(single-channel and unnormalised for the DINO-MGCLS architectures). On detection tasks,
``pybdsf`` (the source finder radio surveys catalogue with) is the classical bar to clear.
``control_peaks`` bounds the counting tasks from above: hand-made counts that a working task
must let the ridge probe turn into a high R² (``control.py``, ``control_features.py``);
``control_image_map`` does the same for detection: the image's own pixels as a stride-8 map.
``noise_stats`` (the crop's noise alone) and ``pixels_128`` (its unresampled pixels) say how much of a
counting score is recognising a field's depth, and how much ``pixels`` loses to its 8x downsampling.
"""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, hookimpl
from radiobench_plugins.baselines.control_features import N_FEATURES, NOISE_QUANTILES

PIXELS_SIDE = 32
NATIVE_SIDE = 128  # sim_counts' crops, unresampled
IMAGENET = InputContract(channels=3, size=224, interpolation="bicubic")
RADIO = InputContract(channels=1, size=224, mean=(0.0,), std=(1.0,), interpolation="bicubic")
TIMM = "radiobench_plugins.baselines.models:RandomInit"

TWINS = [
    # name, factory, options, embedding dim, input contract, twin of
    ("random_resnet18", TIMM, {"arch": "resnet18"}, 512,
     InputContract(channels=3, size=224, interpolation="bilinear"), "a torchvision-style ResNet-18"),
    ("random_resnet50", TIMM, {"arch": "resnet50"}, 2048, RADIO, "dino_mgcls_resnet50"),
    ("random_vits8", TIMM, {"arch": "vit_small_patch8_224"}, 384, RADIO, "dino_mgcls_vits8"),
    ("random_vitb16", TIMM, {"arch": "vit_base_patch16_224"}, 768, RADIO, "dino_mgcls_vitb16"),
    ("random_vits16", TIMM, {"arch": "vit_small_patch16_224"}, 384, IMAGENET, "dino_imagenet_vits16"),
    ("random_convnext_nano", TIMM, {"arch": "convnext_nano"}, 640,
     InputContract(channels=3, size=224, mean=(0.0,) * 3, std=(1.0,) * 3, interpolation="bilinear"),
     "zoobot_convnext_nano"),
    ("random_efficientnet_lite0", "radiobench_plugins.imagenet.efficientnet:EfficientNetLite",
     {"variant": "efficientnet-lite0"}, 1280,
     InputContract(channels=3, size=224, mean=(0.5,) * 3, std=(0.5,) * 3, interpolation="bicubic"),
     "imagenet_efficientnet_lite0"),
    # the architecture and input of configs/pretrain-cpu.toml (`radiobench pretrain`): ViT-Ti/16 at 64 px, one channel
    ("random_vit_tiny16_64px", "radiobench.pretrain.backbone:RandomTwin",
     {"arch": "vit_tiny_patch16_224", "model_kwargs": {"img_size": 64}}, 192,
     InputContract(channels=1, size=64, mean=(0.0,), std=(1.0,), interpolation="bilinear"),
     "dino_vit_tiny16_64px_cpu (radiobench pretrain, configs/pretrain-cpu.toml)"),
    # configs/pretrain-radio-cpu.toml's architecture and input: ResNet-18, one channel, 64 px; torch seed 0 is also
    # the seed that run starts from, so this twin is its untrained encoder
    ("random_resnet18_64px", "radiobench.pretrain.backbone:RandomTwin", {"arch": "resnet18"}, 512,
     InputContract(channels=1, size=64, mean=(0.0,), std=(1.0,), interpolation="bilinear"),
     "byol_resnet18_64px_radio (radiobench pretrain, configs/pretrain-radio-cpu.toml)"),
]


@hookimpl
def radiobench_register_backbones(register):
    register(
        BackboneSpec(
            name="pixels",
            factory="radiobench_plugins.baselines.models:Pixels",
            embed_dim=PIXELS_SIDE * PIXELS_SIDE,
            input=InputContract(channels=1, size=PIXELS_SIDE, mean=(0.0,), std=(1.0,), interpolation="area"),
            weights=WeightsSpec(kind="none", description="no learned weights"),
            family="baseline",
            license="n/a",
            description=f"the image area-downsampled to {PIXELS_SIDE}x{PIXELS_SIDE}, flattened",
        )
    )
    for name, factory, options, dim, contract, twin_of in TWINS:
        register(
            BackboneSpec(
                name=name,
                factory=factory,
                embed_dim=dim,
                input=contract,
                weights=WeightsSpec(kind="random", seed=0, description="default init of the architecture, torch seed 0"),
                family="random-init",
                license="n/a",
                description=f"random-init twin of {twin_of}: the architecture's prior, no training",
                options=options,
            )
        )
    register(
        BackboneSpec(
            name="control_peaks",
            factory="radiobench_plugins.baselines.control:ControlPeaks",
            version="2",  # 2: source-finder-like island counts beside the peak and blob counts
            embed_dim=N_FEATURES,
            kinds=("regression",),  # the counting tasks: a count control says nothing about classes or boxes
            input=InputContract(channels=1, size=256, mean=(0.0,), std=(1.0,), interpolation="area"),
            weights=WeightsSpec(kind="none", description="no learned weights: blob and peak counts"),
            family="control",
            license="n/a",
            description=("positive control for counting: counts of source candidates by S/N, of 3-sigma islands "
                         "(point-like, blended, by area) and of saturated blobs in the crop's own pixels, no pyBDSF, "
                         "no training"),
        )
    )
    # counting controls for field recognition and resolution (issue 32): what a task rewards without features
    register(
        BackboneSpec(
            name="noise_stats",
            factory="radiobench_plugins.baselines.models:NoiseStats",
            embed_dim=len(NOISE_QUANTILES) + 1,
            kinds=("regression",),
            input=InputContract(channels=1, size=NATIVE_SIDE, mean=(0.0,), std=(1.0,), interpolation="area"),
            weights=WeightsSpec(kind="none", description="no learned weights: pixel quantiles and a robust rms"),
            family="control",
            license="n/a",
            description=("negative control for counting: the crop's robust rms (1.4826 x median absolute deviation) "
                         "and its pixel quantiles 1-95 %, which tell a field's depth and background but not its "
                         "sources"),
        )
    )
    register(
        BackboneSpec(
            name=f"pixels_{NATIVE_SIDE}",
            factory="radiobench_plugins.baselines.models:Pixels",
            embed_dim=NATIVE_SIDE * NATIVE_SIDE,
            kinds=("regression",),
            input=InputContract(channels=1, size=NATIVE_SIDE, mean=(0.0,), std=(1.0,), interpolation="area"),
            weights=WeightsSpec(kind="none", description="no learned weights"),
            family="baseline",
            license="n/a",
            description=(f"the image at {NATIVE_SIDE}x{NATIVE_SIDE}, flattened: the counting crops' own pixels, "
                         f"where `pixels` averages 8x8 blocks and blurs away the ~5-pixel beams"),
        )
    )
    register(
        BackboneSpec(
            name="control_image_map",
            factory="radiobench_plugins.baselines.control:ControlImageMap",
            embed_dim=64,
            kinds=("detection",),  # a map of raw pixels: the bar for detection heads, nothing to say about classes
            input=InputContract(channels=1, size=224, mean=(0.0,), std=(1.0,), interpolation="bicubic"),
            weights=WeightsSpec(kind="none", description="no learned weights: the image's own pixels"),
            family="control",
            license="n/a",
            description=("positive control for detection: the image itself at stride 8 (each 8x8 block as 64 "
                         "channels), so a working detection probe must find sources in it"),
        )
    )
    register(
        BackboneSpec(
            name="pybdsf",
            factory="radiobench_plugins.baselines.models:SourceFinder",
            embed_dim=0,
            kinds=("detection",),
            input=InputContract(channels=1, size=224, mean=(0.0,), std=(1.0,)),
            weights=WeightsSpec(kind="none", description="no learned weights: pyBDSF's thresholds"),
            family="classical",
            license="GPL-3.0 (pyBDSF)",
            citation="Mohan & Rafferty 2015, PyBDSF (ascl:1502.007)",
            description=("pyBDSF islands as boxes (thresh_isl 3, thresh_pix 5 hard), peak S/N as score, no training, "
                         "class-agnostic; runs on the survey pixels where the task has them"),
        )
    )
