"""DINO on MeerKAT MGCLS (Lastufka et al. 2024, A&A 690, A310).

Teacher weights from Zenodo record 12771941, single-channel input. The study fed
256x256 crops, contrast-stretched to [0, 1] from each field's 2nd-98th percentiles
(the task's scaling), resized to 224 (bicubic), with no mean/std normalisation.
"""

from radiobench.api import BackboneSpec, InputContract, RadiobenchError, WeightsSpec, hookimpl

ZENODO = "https://zenodo.org/records/12771941/files/{}?download=1"
PAGE = "https://doi.org/10.5281/zenodo.12771941"
CITATION = "Lastufka et al. 2024, A&A 690, A310 (arXiv:2408.06147)"
RADIO_INPUT = InputContract(channels=1, size=224, mean=(0.0,), std=(1.0,), interpolation="bicubic")
FACTORY = "radiobench_plugins.dino_mgcls.model:DinoTeacher"
# Runs of `radiobench pretrain` found under $RADIOBENCH_PRETRAINED (default <cache>/pretrained) are registered
# too, under the name in their card.json: DINO teachers in the same layout, trained here on radio images.

MODELS = [
    # name, timm architecture, embedding dim, teacher file, description, aliases
    ("dino_mgcls_vits8", "vit_small_patch8_224", 384, "mgcls_vits8_pretrain_325_teacher.pth",
     "ViT-S/8 trained from scratch with DINO for 325 epochs on MGCLS crops; CLS token", ("dino_mgcls",)),
    ("dino_mgcls_vitb16", "vit_base_patch16_224", 768, "mgcls_vitb16_pretrain_025_teacher.pth",
     "ViT-B/16 initialised from ImageNet DINO, 25 epochs on MGCLS crops; CLS token", ()),
    ("dino_mgcls_resnet50", "resnet50", 2048, "mgcls_resnet50_pretrain_425_teacher.pth",
     "ResNet-50 trained from scratch with DINO for 425 epochs on MGCLS crops; average-pooled features", ()),
]

@hookimpl
def radiobench_register_backbones(register):
    for name, arch, dim, filename, description, aliases in MODELS:
        register(BackboneSpec(
            name=name,
            factory=FACTORY,
            embed_dim=dim,
            input=RADIO_INPUT,
            weights=WeightsSpec(kind="url", url=ZENODO.format(filename), filename=filename, source_page=PAGE,
                                description="DINO teacher weights (the study's feature extractor)"),
            family="dino-mgcls",
            training_data=("MGCLS",),
            license="see Zenodo record 12771941",
            citation=CITATION,
            description=description,
            options={"arch": arch},
            aliases=aliases,
        ))
    import warnings

    from radiobench.pretrain.card import pretrained_dirs, spec_from_dir

    for folder in pretrained_dirs():  # a broken run folder is skipped with a warning, not the whole plugin
        try:
            register(spec_from_dir(folder))
        except (RadiobenchError, KeyError, TypeError, ValueError) as exc:
            warnings.warn(f"{folder}: not registered as a backbone ({type(exc).__name__}: {exc})", stacklevel=1)
