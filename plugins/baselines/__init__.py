"""Baselines that need no download: raw pixels and a seeded random-init ResNet-18.

They bound the leaderboard from below: a pretrained backbone that cannot beat raw
pixels or random features on a task has learned nothing that task can use.
"""

from radiobench import BackboneSpec, InputContract, WeightsSpec, hookimpl

PIXELS_SIDE = 32


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
    register(
        BackboneSpec(
            name="random_resnet18",
            factory="radiobench_plugins.baselines.models:RandomResNet",
            embed_dim=512,
            input=InputContract(channels=3, size=224, interpolation="bilinear"),
            weights=WeightsSpec(kind="random", seed=0, description="timm resnet18 default init, torch seed 0"),
            family="random-init",
            license="n/a",
            description="ResNet-18 with random weights (seeded): the architecture's prior, no training",
            options={"arch": "resnet18"},
        )
    )
