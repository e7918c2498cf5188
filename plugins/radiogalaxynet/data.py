"""RadioGalaxyNET on disk: where the files are, how to read their boxes and the radio channel.

RadioGalaxyNET (Gupta et al. 2024, PASA 41, e001, "RadioGalaxyNET: Dataset and novel
computer vision algorithms for the detection of extended radio galaxies and infrared
hosts") has 4,155 extended radio galaxies in 2,800 images from the ASKAP EMU pilot
survey with infrared counterparts (paper abstract). It is distributed by the CSIRO Data
Access Portal, collection 61068, https://doi.org/10.25919/btk3-vx79, as one zip (about
250 MB) that unpacks to ``data/RadioGalaxyNET/`` (plus a ``metadata/`` folder).

What the files look like, and where that was read (the portal itself is not reachable
from here, so every fact comes from code that reads the released files):

* Layout: ``RadioGalaxyNET/annotations/{train,val,test}.json`` and the PNGs in
  ``RadioGalaxyNET/{train,val,test}/`` (README of github.com/Nikhel1/Gal-SIOD, the authors';
  ``datasets/coco.py`` of Gal-DINO, ``mode = ''  # instances_``; ``cleaning.py`` of
  github.com/mattjezza/radio-galaxy-iseg, which starts from the downloaded zip). The
  authors' earlier code (Gal-DETR ``datasets/coco.py``, the Gal-Faster-RCNN detectron2
  script) names them ``instances_{split}.json``; that spelling is accepted as a fallback.
* JSON: top-level ``info``, ``licenses``, ``images``, ``categories``, ``annotations``;
  an annotation has ``id``, ``image_id``, ``category_id``, ``bbox`` ([x, y, w, h] in
  pixels, on half-pixels, e.g. [182.5, 197.5, 78.0, 47.0]), ``area`` (= w*h),
  ``iscrowd`` (0), ``segmentation`` (polygons), ``keypoints`` ([x, y, 2]: the infrared
  host, one keypoint) and ``num_keypoints`` (1) (printed data frame in radio-galaxy-iseg
  ``notebooks/dataset_balance.ipynb``). Image entries give ``id``, ``file_name`` (a
  ``.png`` name), ``width``, ``height``.
* Classes by category id: 1 FR-II, 2 FR-I, 3 FR-X (also written FR-x), 4 R (resolved)
  (Gal-YOLOv8 ``JSON2YOLO`` maps class = category_id - 1 and ``RadioGalaxyNET.yaml`` names
  0 FR-II, 1 FR-I, 2 FR-X, 3 R; radio-galaxy-iseg counts category 1 as FR-II, 4 as R).
  The names used at run time are the file's own, read by :func:`read_coco`.
* Images: 450 x 450 pixels (radio-galaxy-iseg ``utilities.py`` IMAGE_HEIGHT = 450), 8-bit
  RGB PNG. Channel 0 (red) is infrared, channels 1 (green) and 2 (blue) are EMU radio:
  the authors' loader that swaps in raw radio keeps ``img[:,:,0]`` as "Infrared
  preprocessed", ``img[:,:,2]`` as "Radio preprocessed" and puts raw radio in channel 1
  (Gal-DETR/Gal-DINO ``_load_image_fits``); their per-channel means agree (0.069 for
  channel 0 in both variants, 0.017 for the processed radio in channels 1-2 against 0.30
  raw). :func:`read_radio` returns channel 2, the one the authors call processed radio.
* Splits: train/val/test. The total is 2,800 images; third-party counts after removing
  images with coordinates outside the frame are 410 val images (605 galaxies), 411 test
  images (593) and 2,834 train galaxies (radio-galaxy-iseg ``yolo.ipynb`` and
  ``dataset_balance.ipynb``), consistent with about 1,960/420/420 images before cleaning;
  the exact published split sizes were not confirmed here.
* Boxes over the edge: some boxes start left of or above the frame (that cleaning drops
  those images); the authors' loaders clamp every box to the image (Gal-DETR
  ``ConvertCocoPolysToMask``). :func:`load_split` clips the same way so that scores are
  comparable, while still refusing boxes that lie wholly outside or are empty.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from radiobench.api import DatasetNotFoundError
from radiobench.tasks.coco import CocoError, CocoSet, read_coco
from radiobench.tasks.detection import read_png_channel

DATA_FOLDER = "radiogalaxynet"  # under the data root
DOI_URL = "https://doi.org/10.25919/btk3-vx79"
SPLITS = ("train", "val", "test")
CLASSES = ("FR-II", "FR-I", "FR-X", "R")  # category ids 1-4, in the authors' order
IMAGE_SIZE = 450
INFRARED_CHANNEL, RADIO_CHANNEL = 0, 2
# Clip any overhang, as the authors' loaders do (see the module docstring).
BOX_TOLERANCE = math.inf


class RadioGalaxyNetNotFoundError(CocoError, DatasetNotFoundError):
    """The data is not under the data root; the message says where to get it and where it goes."""


def folder(root: Path) -> Path:
    return Path(root) / DATA_FOLDER


def annotation_path(root: Path, split: str) -> Path:
    """``annotations/<split>.json`` as released; ``instances_<split>.json`` if only that exists."""
    annotations = folder(root) / "annotations"
    released, older = annotations / f"{_checked(split)}.json", annotations / f"instances_{split}.json"
    return older if older.is_file() and not released.is_file() else released


def image_dir(root: Path, split: str) -> Path:
    return folder(root) / _checked(split)


def load_split(root: Path, split: str) -> CocoSet:
    """Read one split's boxes and classes, with every listed image checked to be on disk."""
    json_path, images = annotation_path(root, split), image_dir(root, split)
    for needed in (folder(root), json_path, images):
        if not needed.exists():
            raise RadioGalaxyNetNotFoundError(
                f"RadioGalaxyNET {split} split: {needed} not found; download the data set from {DOI_URL} "
                f"(CSIRO Data Access Portal), unzip it and move the contents of its data/RadioGalaxyNET/ folder "
                f"(annotations/, train/, val/, test/) into {folder(root)}"
            )
    return read_coco(json_path, images, require_annotations=True, box_tolerance=BOX_TOLERANCE)


def read_radio(path: Path, *, size: tuple[int, int] | None = (IMAGE_SIZE, IMAGE_SIZE)) -> np.ndarray:
    """The radio channel of one image as float32 (H, W) in [0, 1] (uint8 / 255).

    ``size`` is the expected (width, height); None accepts any size.
    """
    return read_png_channel(path, RADIO_CHANNEL, size=size, modes=("RGB", "RGBA"),
                            expected="an 8-bit RGB PNG (infrared, radio, radio)",
                            fix=f"download the data set again from {DOI_URL}")


def _checked(split: str) -> str:
    if split not in SPLITS:
        raise CocoError(f"RadioGalaxyNET has splits {', '.join(SPLITS)}, not {split!r}")
    return split
