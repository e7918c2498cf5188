"""Zoobot encoders (Walmsley et al.), trained on Galaxy Zoo volunteer labels, timm format on the hub.

Zoobot feeds [0, 1] images at 224 px (bilinear) without mean/std normalisation, so the
contract does the same; the hub's config.json mentions ImageNet statistics that Zoobot's
own pipeline never applies.
"""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, hookimpl

CITATION = "Walmsley et al. 2023, Zoobot, JOSS 8, 5312; Walmsley et al. 2024 (arXiv:2404.02973)"
MODELS = [
    ("zoobot_convnext_nano", "convnext_nano", "mwalmsley/zoobot-encoder-convnext_nano", 640),
    ("zoobot_resnet50", "resnet50", "mwalmsley/zoobot-encoder-resnet50", 2048),
]


@hookimpl
def radiobench_register_backbones(register):
    for name, arch, repo, dim in MODELS:
        register(BackboneSpec(
            name=name,
            factory="radiobench_plugins.zoobot.models:ZoobotEncoder",
            embed_dim=dim,
            input=InputContract(channels=3, size=224, mean=(0.0,) * 3, std=(1.0,) * 3, interpolation="bilinear"),
            weights=WeightsSpec(kind="hf_hub", hf_repo=repo, hf_filename="pytorch_model.bin", filename="pytorch_model.bin",
                                source_page=f"https://huggingface.co/{repo}"),
            family="galaxy-zoo",
            training_data=("Galaxy Zoo",),
            license="see the hub model card (Zoobot code: GPL-3.0)",
            citation=CITATION,
            description=f"Zoobot {arch} encoder, average-pooled features",
            options={"arch": arch},
        ))
