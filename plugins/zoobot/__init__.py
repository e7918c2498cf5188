"""Zoobot encoders (Walmsley et al.), trained on Galaxy Zoo volunteer labels, timm format on the hub.

Zoobot feeds [0, 1] images at 224 px (bilinear) without mean/std normalisation, so the
contract does the same; the hub's config.json mentions ImageNet statistics that Zoobot's
own pipeline never applies.

The view is upstream's inference view: galaxy-datasets' ``minimal_view_config`` (the test
transform Zoobot evaluates and predicts with) is ``RandomAffine(degrees=0, translate=None,
scale=(1.2, 1.2))`` on the whole cutout, a fixed 1.2x zoom about its centre, then a bilinear
resize to 224. Here that is the declared transform ``zoom(1.2)``: the middle round(side / 1.2)
pixels of each side (125 of MiraBest's 150), resized bilinearly (antialiased) to 224. Two
differences remain, both small: one resample instead of upstream's two (affine at the cutout's
size, then resize), and the zoomed window rounded to whole pixels. The zoom is relative to the
cutout, as upstream's is (Galaxy Zoo cutouts are scaled to each galaxy, not to a fixed pixel
scale), so it needs no pixel scale. Version 1 showed the whole cutout. Dense (detection) tasks
see the whole image.
"""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, hookimpl, zoom

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
            input=InputContract(channels=3, size=224, mean=(0.0,) * 3, std=(1.0,) * 3, interpolation="bilinear",
                                transforms=(zoom(1.2),)),  # galaxy-datasets' test view (see the docstring)
            weights=WeightsSpec(kind="hf_hub", hf_repo=repo, hf_filename="pytorch_model.bin", filename="pytorch_model.bin",
                                source_page=f"https://huggingface.co/{repo}"),
            family="galaxy-zoo",
            training_data=("Galaxy Zoo",),
            license="see the hub model card (Zoobot code: GPL-3.0)",
            citation=CITATION,
            description=f"Zoobot {arch} encoder, average-pooled features",
            options={"arch": arch},
            version="2",  # 2: upstream's 1.2x centre zoom (zoom(1.2)); 1 showed the whole cutout
        ))
