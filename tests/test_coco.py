"""COCO reading/writing and the RadioGalaxyNET data layer, on small files written here.

The RadioGalaxyNET files imitate the released ones key for key (see the docstring of
radiobench_plugins.radiogalaxynet.data): annotations/<split>.json beside train/ val/ test/,
half-pixel boxes, polygons, one infrared-host keypoint per galaxy.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radiobench.tasks.coco import CocoError, CocoImage, read_coco, write_coco
from radiobench.errors import DatasetNotFoundError
from radiobench_plugins.radiogalaxynet import data as rgn

CATEGORIES = [{"id": 1, "name": "FR-II"}, {"id": 2, "name": "FR-I"}, {"id": 3, "name": "FR-X"}, {"id": 4, "name": "R"}]


def png(path: Path, size: tuple[int, int] = (450, 450), mode: str = "RGB", channels=(40, 90, 200)) -> Path:
    """An image whose channels are constant planes (infrared, radio, radio), except pixel (0, 1)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    if mode == "RGB":
        pixels = np.empty((h, w, 3), dtype=np.uint8)
        pixels[:] = channels
        pixels[0, 1] = (0, 0, 255)
        Image.fromarray(pixels, "RGB").save(path)
    else:
        Image.new(mode, size).save(path)
    return path


def rgn_annotation(ann_id: int, image_id: int, category_id: int, bbox: list[float], **extra) -> dict:
    x, y, w, h = bbox
    return {
        "segmentation": [[x + 1, y + 1, x + w - 1, y + 1, x + w - 1, y + h - 1, x + 1, y + h - 1]],
        "num_keypoints": 1,
        "area": w * h,
        "iscrowd": 0,
        "image_id": image_id,
        "bbox": bbox,
        "keypoints": [int(x + w / 2), int(y + h / 2), 2],
        "category_id": category_id,
        "id": ann_id,
        **extra,
    }


def rgn_doc(stems: list[str]) -> dict:
    images = [{"id": i + 1, "file_name": f"{stem}.png", "width": 450, "height": 450} for i, stem in enumerate(stems)]
    annotations = [rgn_annotation(1, 1, 1, [182.5, 197.5, 78.0, 47.0])]
    if len(stems) > 1:
        annotations += [rgn_annotation(2, 2, 4, [213.5, 214.5, 22.0, 15.0]),
                        rgn_annotation(3, 2, 2, [129.5, 174.5, 67.0, 39.0])]
    return {"info": {"description": "RadioGalaxyNET"}, "licenses": [], "images": images,
            "categories": copy.deepcopy(CATEGORIES), "annotations": annotations}


def write_split(dataset: Path, split: str, stems: list[str], name: str | None = None) -> dict:
    doc = rgn_doc(stems)
    (dataset / "annotations").mkdir(parents=True, exist_ok=True)
    (dataset / "annotations" / (name or f"{split}.json")).write_text(json.dumps(doc))
    for stem in stems:
        png(dataset / split / f"{stem}.png")
    return doc


@pytest.fixture
def rgn_root(tmp_path: Path) -> Path:
    """A data root holding radiogalaxynet/ in the released layout, two images per split."""
    for split in rgn.SPLITS:
        write_split(tmp_path / "radiogalaxynet", split, [f"{split}_J0{i}" for i in range(2)])
    return tmp_path


@pytest.fixture
def small(tmp_path: Path):
    """A valid COCO file (3 images, 64x48) with its images, and a writer for edited copies."""
    image_dir = tmp_path / "images"
    for name in ("a.png", "b.png", "c.png"):
        png(image_dir / name, size=(64, 48))
    doc = {
        "images": [{"id": i, "file_name": n, "width": 64, "height": 48} for i, n in ((1, "a.png"), (2, "b.png"), (3, "c.png"))],
        "categories": copy.deepcopy(CATEGORIES),
        "annotations": [rgn_annotation(1, 1, 1, [2.0, 3.0, 10.0, 20.0]), rgn_annotation(2, 2, 4, [30.5, 10.5, 20.0, 30.0])],
    }

    def write(edited: dict | list | str, name: str = "ann.json") -> Path:
        path = tmp_path / name
        path.write_text(edited if isinstance(edited, str) else json.dumps(edited))
        return path

    return doc, image_dir, write


# --------------------------------------------------------------------------- round trip


def test_write_then_read_gives_back_boxes_labels_names_and_sizes(tmp_path: Path):
    images = [CocoImage(7, "x.png", 64, 48), CocoImage(3, "y.png", 32, 32), CocoImage(11, "empty.png", 20, 10)]
    for image in images:
        png(tmp_path / "img" / image.file_name, size=(image.width, image.height))
    boxes = {7: np.array([[1.25, 2.5, 30.0, 40.75], [0.0, 0.0, 64.0, 48.0]], np.float32),
             3: np.array([[10.1, 11.3, 12.7, 31.9]], np.float32)}
    labels = {7: np.array([2, 0]), 3: np.array([1])}
    write_coco(tmp_path / "out.json", images, boxes, labels, ["FR-II", "FR-I", "R"])

    got = read_coco(tmp_path / "out.json", tmp_path / "img")
    assert got.images == tuple(images)
    assert got.class_names == ("FR-II", "FR-I", "R")
    assert got.categories == ((1, "FR-II"), (2, "FR-I"), (3, "R"))
    for image_id in (7, 3):
        np.testing.assert_array_equal(got.boxes[image_id], boxes[image_id])
        np.testing.assert_array_equal(got.labels[image_id], labels[image_id])
        assert got.boxes[image_id].dtype == np.float32 and got.labels[image_id].dtype == np.int64
    assert got.boxes[11].shape == (0, 4) and got.labels[11].shape == (0,)
    assert got.image_path(images[0]) == tmp_path / "img" / "x.png"


def test_written_file_is_plain_coco(tmp_path: Path):
    write_coco(tmp_path / "out.json", [CocoImage(1, "a.png", 50, 40)], {1: np.array([[10, 5, 30, 25]], np.float32)},
               {1: np.array([1])}, ["FR-II", "FR-I"])
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["categories"] == [{"id": 1, "name": "FR-II"}, {"id": 2, "name": "FR-I"}]
    (ann,) = doc["annotations"]
    assert ann == {"id": 1, "image_id": 1, "category_id": 2, "bbox": [10.0, 5.0, 20.0, 20.0], "area": 400.0, "iscrowd": 0}
    assert {"info", "licenses"} <= set(doc)
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic writer left nothing behind


def test_written_file_loads_in_pycocotools(tmp_path: Path):
    coco_api = pytest.importorskip("pycocotools.coco")
    write_coco(tmp_path / "out.json", [CocoImage(1, "a.png", 50, 40), CocoImage(2, "b.png", 50, 40)],
               {1: np.array([[10, 5, 30, 25], [1, 1, 4, 4]], np.float32)}, {1: np.array([1, 0])}, ["FR-II", "FR-I"])
    api = coco_api.COCO(str(tmp_path / "out.json"))
    assert api.loadAnns(api.getAnnIds(imgIds=[1]))[0]["bbox"] == [10.0, 5.0, 20.0, 20.0]
    assert api.getCatIds() == [1, 2] and api.getAnnIds(imgIds=[2]) == []
    api.loadRes([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3], "score": 0.5}])  # copies info/licenses


def test_extra_annotation_fields_are_written_and_ignored_on_reading(tmp_path: Path):
    png(tmp_path / "img" / "a.png", size=(50, 40))
    extra = {1: [{"keypoints": np.array([20, 15, 2]), "num_keypoints": 1, "segmentation": [[11, 6, 29, 6, 29, 24]]}]}
    write_coco(tmp_path / "out.json", [CocoImage(1, "a.png", 50, 40)], {1: np.array([[10, 5, 30, 25]], np.float32)},
               {1: np.array([0])}, ["FR-II"], extra_annotation_fields=extra)
    (ann,) = json.loads((tmp_path / "out.json").read_text())["annotations"]
    assert ann["keypoints"] == [20, 15, 2] and ann["num_keypoints"] == 1 and ann["bbox"] == [10.0, 5.0, 20.0, 20.0]
    np.testing.assert_array_equal(read_coco(tmp_path / "out.json", tmp_path / "img").boxes[1], [[10, 5, 30, 25]])
    with pytest.raises(ValueError, match="may not set"):
        write_coco(tmp_path / "bad.json", [CocoImage(1, "a.png", 50, 40)], {1: np.array([[10, 5, 30, 25]])},
                   {1: np.array([0])}, ["FR-II"], extra_annotation_fields={1: [{"bbox": [0, 0, 1, 1]}]})
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.parametrize("boxes, labels, match", [
    ({1: np.array([[5, 5, 5, 9]])}, {1: np.array([0])}, "non-positive size"),
    ({1: np.array([[1, 1, 4, 4]])}, {1: np.array([2])}, "labels outside"),
    ({1: np.array([[1, 1, 4, 4]])}, {1: np.array([0, 1])}, "must match"),
    ({9: np.array([[1, 1, 4, 4]])}, {9: np.array([0])}, "unknown image ids"),
])
def test_write_coco_refuses_what_read_coco_would_reject(tmp_path: Path, boxes, labels, match):
    with pytest.raises(ValueError, match=match):
        write_coco(tmp_path / "out.json", [CocoImage(1, "a.png", 50, 40)], boxes, labels, ["FR-II", "FR-I"])
    assert not (tmp_path / "out.json").exists()


# --------------------------------------------------------------------------- RadioGalaxyNET layout


def test_load_split_reads_the_released_layout(rgn_root: Path):
    for split in rgn.SPLITS:
        got = rgn.load_split(rgn_root, split)
        assert got.path == rgn_root / "radiogalaxynet" / "annotations" / f"{split}.json"
        assert got.image_dir == rgn_root / "radiogalaxynet" / split
        assert got.class_names == rgn.CLASSES
        assert [image.file_name for image in got.images] == [f"{split}_J00.png", f"{split}_J01.png"]
        np.testing.assert_array_equal(got.boxes[1], [[182.5, 197.5, 260.5, 244.5]])
        np.testing.assert_array_equal(got.boxes[2], [[213.5, 214.5, 235.5, 229.5], [129.5, 174.5, 196.5, 213.5]])
        np.testing.assert_array_equal(got.labels[2], [3, 1])  # category 4 (R) and 2 (FR-I) as indices
        assert all(got.image_path(image).is_file() for image in got.images)


def test_load_split_accepts_the_authors_older_instances_names(tmp_path: Path):
    write_split(tmp_path / "radiogalaxynet", "val", ["J1"], name="instances_val.json")
    assert rgn.annotation_path(tmp_path, "val").name == "instances_val.json"
    assert len(rgn.load_split(tmp_path, "val").images) == 1


def test_load_split_clips_boxes_over_the_edge_like_the_authors_loaders(tmp_path: Path):
    doc = write_split(tmp_path / "radiogalaxynet", "test", ["J1"])
    doc["annotations"][0]["bbox"] = [-12.5, 430.0, 40.0, 35.0]
    (tmp_path / "radiogalaxynet" / "annotations" / "test.json").write_text(json.dumps(doc))
    np.testing.assert_array_equal(rgn.load_split(tmp_path, "test").boxes[1], [[0, 430, 27.5, 450]])


@pytest.mark.parametrize("remove", ["", "annotations/train.json", "train"])
def test_missing_data_says_where_to_download_and_where_it_goes(rgn_root: Path, remove: str):
    target = rgn_root / "radiogalaxynet" / remove
    if remove.endswith(".json"):
        target.unlink()
    else:
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        target.rmdir()
    with pytest.raises(DatasetNotFoundError) as info:
        rgn.load_split(rgn_root, "train")
    message = str(info.value)
    assert isinstance(info.value, CocoError) and "\n" not in message
    assert "https://doi.org/10.25919/btk3-vx79" in message
    assert f"into {rgn_root / 'radiogalaxynet'}" in message and str(target) in message


def test_unknown_split_is_refused(rgn_root: Path):
    with pytest.raises(CocoError, match="splits train, val, test, not 'valid'"):
        rgn.load_split(rgn_root, "valid")


# --------------------------------------------------------------------------- what read_coco refuses


def _drop(key):
    return lambda d: d.pop(key)


def _set(section, index, key, value):
    def edit(d):
        d[section][index][key] = value
    return edit


BAD = [
    ("not json", r"ann\.json: not valid JSON \(.* at line 1"),
    ([1, 2], r"ann\.json: not a COCO annotation file \(the top level is a JSON list"),
    (_drop("categories"), r"not a COCO annotation file .*missing or not a list: 'categories'"),
    (_set("images", 1, "width", "64"), r"images\[1\] needs an integer 'id', a non-empty 'file_name' and positive integer"),
    (_set("images", 1, "height", 48.5), r"images\[1\] needs .*positive integer 'width' and 'height', got .*48\.5"),
    (_set("images", 2, "id", 1), r"images\[2\]: duplicate image id 1 \(also used by 'a.png'\)"),
    (_set("images", 0, "file_name", "../secret.png"), r"file_name '\.\./secret\.png' points outside the image folder"),
    (_set("categories", 3, "id", 2), r"categories\[3\]: duplicate category id 2 \(also used by 'FR-I'\)"),
    (lambda d: d["categories"].clear(), r"ann\.json: no categories, so no box can have a class"),
    (_set("categories", 0, "name", None), r"categories\[0\] needs an integer 'id' and a string 'name'"),
    (_set("annotations", 0, "bbox", [1, 2, 3]), r"annotations\[0\] \(id 1\) needs .*a 'bbox' of 4 finite numbers"),
    (_set("annotations", 0, "bbox", [1, 2, float("nan"), 3]), r"annotations\[0\] \(id 1\) needs .*4 finite numbers"),
    (_set("annotations", 1, "image_id", 99), r"annotations\[1\] \(id 2\) refers to image id 99, which is not in 'images'"),
    (_set("annotations", 1, "category_id", 7), r"annotations\[1\] \(id 2\) has category id 7, which is not in 'categories'"),
    (_set("annotations", 0, "bbox", [2, 3, 0, 20]), r"annotations\[0\] \(id 1\) on 'a\.png' \(64x48\) has an empty box \(width 0"),
    (_set("annotations", 0, "bbox", [2, 3, 10, -1]), r"has an empty box \(width 10, height -1\)"),
    (_set("annotations", 1, "bbox", [50, 10, 19, 30]), r"on 'b\.png' \(64x48\): box \[x=50.*extends 5 px beyond the image \(tolerance 1 px\)"),
    (_set("annotations", 1, "bbox", [-2.5, 10, 19, 30]), r"extends 2\.5 px beyond the image"),
    (lambda d: d["annotations"].clear(), r"no annotations in .*ann\.json \(the file lists 3 images but no boxes\)"),
]


@pytest.mark.parametrize("edit, match", BAD, ids=[m.split("(")[0][:40] for _, m in BAD])
def test_bad_annotation_files_raise_one_line_errors_naming_the_file(small, edit, match):
    doc, image_dir, write = small
    if callable(edit):
        edited = copy.deepcopy(doc)
        edit(edited)
    else:
        edited = edit
    path = write(edited)
    with pytest.raises(CocoError, match=match) as info:
        read_coco(path, image_dir)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_whole_float_image_sizes_are_accepted(small):
    doc, image_dir, write = small
    doc["images"][0]["width"] = 64.0
    assert read_coco(write(doc), image_dir).images[0] == CocoImage(1, "a.png", 64, 48)


def test_missing_annotation_file(tmp_path: Path):
    with pytest.raises(CocoError, match=r"nope\.json: annotation file not found"):
        read_coco(tmp_path / "nope.json", tmp_path)


def test_boxes_within_the_tolerance_are_clipped(small):
    doc, image_dir, write = small
    doc["annotations"][1]["bbox"] = [44.5, -0.75, 20.25, 30.0]  # 0.75 px over the top and the right edge
    got = read_coco(write(doc), image_dir)
    np.testing.assert_array_equal(got.boxes[2], [[44.5, 0, 64, 29.25]])
    with pytest.raises(CocoError, match="extends 0.75 px"):
        read_coco(write(doc), image_dir, box_tolerance=0.5)


def test_a_box_wholly_outside_is_an_error_even_with_unlimited_tolerance(small):
    doc, image_dir, write = small
    doc["annotations"][0]["bbox"] = [70, 3, 10, 10]
    with pytest.raises(CocoError, match=r"box \[x=70, y=3, w=10, h=10\] lies outside the image"):
        read_coco(write(doc), image_dir, box_tolerance=float("inf"))


def test_crowd_annotations_are_skipped_not_errors(small):
    doc, image_dir, write = small
    doc["annotations"].append(rgn_annotation(3, 3, 99, [0, 0, 0, 0], iscrowd=1))  # invalid, but a crowd region
    got = read_coco(write(doc), image_dir)
    assert got.boxes[3].shape == (0, 4) and sum(len(v) for v in got.labels.values()) == 2
    for ann in doc["annotations"]:
        ann["iscrowd"] = 1
    with pytest.raises(CocoError, match="no annotations in"):
        read_coco(write(doc), image_dir)
    assert sum(len(v) for v in read_coco(write(doc), image_dir, require_annotations=False).labels.values()) == 0


def test_missing_images_are_all_counted_in_one_line(small, tmp_path: Path):
    doc, image_dir, write = small
    doc["images"] += [{"id": 10 + i, "file_name": f"gone{i}.png", "width": 64, "height": 48} for i in range(7)]
    (image_dir / "b.png").unlink()
    with pytest.raises(CocoError) as info:
        read_coco(write(doc), image_dir)
    message = str(info.value)
    assert message.startswith(f"8 of 10 images listed in {tmp_path / 'ann.json'} are missing from {image_dir}")
    assert "(e.g. 'b.png', 'gone0.png', 'gone1.png', 'gone2.png', 'gone3.png', ...)" in message
    assert "\n" not in message and "gone6" not in message


def test_missing_image_folder(small, tmp_path: Path):
    doc, _, write = small
    with pytest.raises(CocoError, match=r"image folder .*elsewhere not found \(it should hold the 3 images listed in"):
        read_coco(write(doc), tmp_path / "elsewhere")


def test_negative_tolerance_is_a_programming_error(small):
    doc, image_dir, write = small
    with pytest.raises(ValueError, match="box_tolerance"):
        read_coco(write(doc), image_dir, box_tolerance=-1)


# --------------------------------------------------------------------------- the radio channel


def test_read_radio_returns_the_radio_channel_in_unit_range(tmp_path: Path):
    radio = rgn.read_radio(png(tmp_path / "J1.png"))
    assert radio.shape == (450, 450) and radio.dtype == np.float32
    assert radio[0, 0] == pytest.approx(200 / 255) and radio[0, 1] == 1.0  # blue plane, not infrared (40) or green
    assert 0.0 <= radio.min() and radio.max() <= 1.0
    small = rgn.read_radio(png(tmp_path / "s.png", size=(8, 6)), size=(8, 6))
    assert small.shape == (6, 8)


def test_read_radio_refuses_a_truncated_png(tmp_path: Path):
    path = png(tmp_path / "J1.png", channels=(7, 150, 30))
    noisy = np.random.default_rng(0).integers(0, 256, (450, 450, 3), dtype=np.uint8)  # incompressible: a long stream
    Image.fromarray(noisy, "RGB").save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CocoError, match=r"J1\.png: unreadable image \(.*\); the file is corrupt or truncated") as info:
        rgn.read_radio(path)
    assert "\n" not in str(info.value)


def test_read_radio_refuses_garbage_wrong_size_wrong_mode_and_missing_files(tmp_path: Path):
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    with pytest.raises(CocoError, match=r"junk\.png: unreadable image"):
        rgn.read_radio(tmp_path / "junk.png")
    with pytest.raises(CocoError, match=r"image is 64x48 pixels, expected 450x450"):
        rgn.read_radio(png(tmp_path / "small.png", size=(64, 48)))
    with pytest.raises(CocoError, match=r"image mode L, expected an 8-bit RGB PNG \(infrared, radio, radio\)"):
        rgn.read_radio(png(tmp_path / "grey.png", mode="L"))
    with pytest.raises(CocoError, match=r"gone\.png: image not found"):
        rgn.read_radio(tmp_path / "gone.png")
