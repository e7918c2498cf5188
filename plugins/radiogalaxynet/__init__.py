"""RadioGalaxyNET: extended radio galaxies and their infrared hosts in EMU/ASKAP images (Gupta et al. 2024).

The data layer (layout, COCO annotations, radio channel) is in ``data``; the task in ``task``.
The data cannot be fetched automatically (CSIRO's portal serves it behind a web form), so
``prepare`` says where to download it and where to put it.
"""

from __future__ import annotations

from radiobench.api import TaskSpec, hookimpl

from radiobench_plugins.radiogalaxynet.data import CLASSES, DATA_FOLDER, DOI_URL


@hookimpl
def radiobench_register_tasks(register):
    register(TaskSpec(
        name="radiogalaxynet",
        factory="radiobench_plugins.radiogalaxynet.task:RadioGalaxyNet",
        version="1.0",
        kind="detection",
        main_score="map",
        splits=("train", "val", "test"),
        classes=CLASSES,
        source_datasets=("EMU", "ASKAP", "WISE"),
        scaling="the released PNG's radio channel (blue, 8-bit, as the authors preprocessed it) / 255",
        citation="Gupta et al. 2024, PASA 41, e001 (RadioGalaxyNET)",
        license="CSIRO Data Access Portal licence of collection 61068 (CC BY 4.0)",
        description=("boxes of FR-I, FR-II, FR-X and resolved radio galaxies in 450x450 EMU cutouts; frozen-backbone "
                     "FCOS head trained on train, scored on test; COCO mAP@[.5:.95]"),
        chance={"map": 0.0},
        chance_note="a detector that finds nothing scores mAP 0 (boxes at random places score close to 0)",
        data_folder=DATA_FOLDER,
        download_hint=f"download from {DOI_URL} and unpack data/RadioGalaxyNET/ into <data root>/{DATA_FOLDER}",
        # the restoring beam in pixels is not stated with the PNGs: give it (--beam) to run pyBDSF on them
        options={"beam_pixels": None},
    ))
