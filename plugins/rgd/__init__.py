"""RadioGalaxyDataset 4-class morphology (Griese et al. 2023): FRI, FRII, Compact, Bent.

2158 FIRST cutouts (300x300 uint8) compiled from six catalogues; 745 of them come from
MiraBest, so a backbone trained on MiraBest (or on FIRST) is in-domain here.
"""

from radiobench import TaskSpec, hookimpl

ARCHIVE = "galaxy_data_h5.zip"
ARCHIVE_SHA256 = "1f9656a9fe2519857a5b7c7498f60087a6af73d8015b85559418ce30cc212c52"
URL = f"https://zenodo.org/record/7689127/files/{ARCHIVE}?download=1"
CLASSES = ("FRI", "FRII", "Compact", "Bent")


@hookimpl
def radiobench_register_tasks(register):
    register(TaskSpec(
        name="rgd",
        factory="radiobench_plugins.rgd.task:RadioGalaxyDataset",
        version="1.0",
        kind="classification",
        main_score="f1_macro",
        higher_is_better=True,
        splits=("train", "valid", "test"),
        data_sha256=ARCHIVE_SHA256,
        scaling="uint8 / 255 (cutouts as published: FIRST images scaled to 0-255 by the data set's authors)",
        classes=CLASSES,
        source_datasets=("FIRST", "MiraBest"),
        citation="Griese et al. 2023, Data in Brief 47, 108974, doi:10.1016/j.dib.2023.108974",
        license="MIT (firstgalaxydata); FIRST images: scholarly, educational and private non-commercial use",
        description=(
            "4-class morphology (FRI/FRII/Compact/Bent), literature split 1758 train / 200 valid / 200 test "
            "(key Split_literature; the probe trains on train, valid is unused); 745 sources overlap MiraBest"
        ),
        data_folder="rgd",
        download_hint=URL,
    ))
