"""RadioGalaxyDataset 4-class morphology (Griese et al. 2023): FRI, FRII, Compact, Bent.

2158 FIRST cutouts (300x300 uint8) compiled from six catalogues; 745 of them come from
MiraBest, so a backbone trained on MiraBest (or on FIRST) is in-domain here.

``rgd`` is the literature split (1758 train / 200 valid / 200 test). ``rgd_cv0``..``rgd_cv4``
use the release's 5-fold cross-validation files instead: fold k's 1405 training sources
(its 353 validation sources unused) scored on the 400-source CV test file; the spread of a
backbone's score over the five folds is the data-split variance the literature split hides.
They are variants, so ``--task all`` leaves them out.

``rgd_cv`` is the resolving estimate beside the literature split: all 2158 sources of the literature file
in 5-fold cross-validation redrawn per seed, grouped by sky position (sources within 90" of each other in
one fold), each source tested once per seed; the board ranks on it where a backbone has it. Also a variant.
"""

from radiobench.api import TaskSpec, hookimpl

ZENODO = "https://zenodo.org/record/7689127/files/{}?download=1"
ARCHIVE = "galaxy_data_h5.zip"
# file name -> sha256, as published with the data set (see ../shared/data/README.md)
SHA256 = {
    "galaxy_data_h5.zip": "1f9656a9fe2519857a5b7c7498f60087a6af73d8015b85559418ce30cc212c52",
    "galaxy_data_crossvalid_0_h5.zip": "4d8309acd767f83d37e6c5310615d401e7e97f22cfa96082143cef4965920391",
    "galaxy_data_crossvalid_1_h5.zip": "39e6b24a9c787e7fd9d95ce465ca10714987830005957c581695c16c0979e4b6",
    "galaxy_data_crossvalid_2_h5.zip": "4022d81ce392c65bcfa8253b77ecf9d7cc50e2bbe2fcf29b38560da81013e24f",
    "galaxy_data_crossvalid_3_h5.zip": "79c82451d97cf3a59c02107e25dd72c8b5b42ab23ab115af690cbb4d77bbfbc8",
    "galaxy_data_crossvalid_4_h5.zip": "31efad6c49579b9435fb889ab950c0e20937cc90b15b40ee4839c9513adbb8db",
    "galaxy_data_crossvalid_test_h5.zip": "66970c76097d24047821f5c0f1b357bff246a5a424ca2d308f47db7b6d10dc91",
}
CV_TEST = "galaxy_data_crossvalid_test_h5.zip"
CLASSES = ("FRI", "FRII", "Compact", "Bent")
COMMON = dict(
    factory="radiobench_plugins.rgd.task:RadioGalaxyDataset",
    version="1.0",
    kind="classification",
    main_score="f1_macro",
    splits=("train", "valid", "test"),
    scaling="uint8 / 255 (cutouts as published: FIRST images scaled to 0-255 by the data set's authors)",
    classes=CLASSES,
    source_datasets=("FIRST", "MiraBest"),
    citation="Griese et al. 2023, Data in Brief 47, 108974, doi:10.1016/j.dib.2023.108974",
    license="MIT (firstgalaxydata); FIRST images: scholarly, educational and private non-commercial use",
    data_folder="rgd",
    download_hint=ZENODO.format(ARCHIVE),
    # FIRST's own pixels, not resampled (300 px = 9'): the centre 150 px of the 745 sources shared with MiraBest
    # match MiraBest's 150 px cutouts (pixel correlation 0.95 on 40 of them; 0.36 against RGD shrunk 2x)
    pixel_scale_arcsec=1.8,
)


def fold_files(fold: int | None) -> tuple[str, ...]:
    return (ARCHIVE,) if fold is None else (f"galaxy_data_crossvalid_{fold}_h5.zip", CV_TEST)


@hookimpl
def radiobench_register_tasks(register):
    register(TaskSpec(
        name="rgd",
        data_sha256=SHA256[ARCHIVE],
        description=(
            "4-class morphology (FRI/FRII/Compact/Bent), literature split 1758 train / 200 valid / 200 test "
            "(key Split_literature; the probe trains on train, valid is unused); 745 sources overlap MiraBest"
        ),
        # measured on the literature test split: 50 sources per class; the training majority is FRII (824 of 1758)
        chance={"f1_macro": 0.1, "accuracy": 0.25, "error": 0.75, "balanced_accuracy": 0.25},
        chance_note=("always the training set's majority class (FRII): F1 0.4 on FRII, 0 on the other three, "
                     "macro F1 0.100 on the balanced 200-source test split"),
        **COMMON,
    ))
    for fold in range(5):
        register(TaskSpec(
            name=f"rgd_cv{fold}",
            data_sha256="+".join(SHA256[f] for f in fold_files(fold)),
            description=f"RadioGalaxyDataset CV fold {fold}: 1405 train, scored on the 400-source CV test file",
            options={"fold": fold},
            in_all=False,
            **COMMON,
        ))
    register(TaskSpec(
        name="rgd_cv",
        data_sha256=SHA256[ARCHIVE],
        description=(
            "RadioGalaxyDataset 4-class morphology, all 2158 sources of the literature file in 5-fold "
            "cross-validation, folds redrawn per seed, grouped by sky position (sources within 90\" of each other in "
            "one fold); every source is tested once per seed. The cross-validated estimate beside rgd"
        ),
        # all 2158 sources: FRI 495, FRII 924, Compact 391, Bent 348
        chance={"f1_macro": 924 / 3082 / 2, "accuracy": 924 / 2158, "error": 1234 / 2158, "balanced_accuracy": 0.25},
        chance_note=("always the majority class (FRII, 924 of 2158 sources): F1 0.600 on FRII, 0 on the other three, "
                     "macro F1 0.150"),
        cv_folds=5,
        cv_of="rgd",
        in_all=False,
        **{**COMMON, "splits": ("all",)},
    ))
