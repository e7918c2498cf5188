"""CLIP image towers through open_clip (web images: the no-astronomy reference point)."""

from radiobench.api import BackboneSpec, InputContract, WeightsSpec, hookimpl

REPO = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"


@hookimpl
def radiobench_register_backbones(register):
    register(BackboneSpec(
        name="clip_vitb32",
        factory="radiobench_plugins.clip.models:OpenClipImageTower",
        embed_dim=512,
        input=InputContract(channels=3, size=224, mean=(0.48145466, 0.4578275, 0.40821073),
                            std=(0.26862954, 0.26130258, 0.27577711), interpolation="bicubic"),
        weights=WeightsSpec(kind="hf_hub", hf_repo=REPO, hf_filename="open_clip_pytorch_model.bin",
                            filename="open_clip_pytorch_model.bin", source_page=f"https://huggingface.co/{REPO}",
                            description="open_clip ViT-B-32, pretrained tag laion2b_s34b_b79k"),
        family="web-images",
        training_data=("LAION-2B",),
        license="MIT",
        citation="Cherti et al. 2023, Reproducible scaling laws for CLIP (arXiv:2212.07143); Ilharco et al., open_clip",
        description="image tower only; the 512-d projected image embedding (encode_image)",
        options={"model": "ViT-B-32"},
    ))
