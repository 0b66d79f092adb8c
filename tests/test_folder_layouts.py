"""Folder layouts read as meant, the same for image and text folders (`tfapps.data.folders`):
split folders in any case and spelling, a given validation folder, links followed with loops
left out, archives' top folders looked through, nested class folders, loose and hidden files,
suffixes in any case, and the layouts that are refused or explained in one line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import write_png_folder

from tfapps.data.folder_walk import walk_files
from tfapps.data.folders import read_layout, split_of
from tfapps.data.image_scan import scan_folder
from tfapps.errors import InvalidInput
from tfapps.tasks.image import ImageClassifyConfig
from tfapps.tasks.text import SentimentConfig

SPELLINGS = [
    ("Training", None, "Testing"),
    ("train", "val", "test"),
    ("TRAIN", "Valid", "TEST"),
    ("training", "validation", "testing"),
    ("train", "dev", "test"),
    ("seg_train", None, "seg_test"),
    ("20news-bydate-train", None, "20news-bydate-test"),
    ("TrainSet", "ValSet", "TestSet"),
    ("train2017", "val2017", None),
    ("train_data", "valid_data", "test_data"),
]
COUNTS = {"train": 10, "validation": 3, "test": 4}  # examples per class in each split folder


def _load(config):
    from tfapps.data.load import load_splits

    return load_splits(config)


def _images(root: Path, classes=("a", "b"), count: int = 10, seed: int = 0) -> Path:
    return write_png_folder(root, dict.fromkeys(classes, count), size=(8, 8), seed=seed)


def _texts(root: Path, classes=("neg", "pos"), count: int = 10, suffix=".txt", seed=0) -> Path:
    words = {"neg": "dull awful boring", "pos": "great fun loved"}
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            text = f"{words.get(name, name)} review {seed} {i}"
            (root / name / f"{i}{suffix}").write_text(text, encoding="utf-8")
    return root


def _write(kind: str, root: Path, count: int, seed: int = 0, classes=None) -> Path:
    if kind == "image":
        return _images(root, classes or ("a", "b"), count, seed)
    return _texts(root, classes or ("neg", "pos"), count, seed=seed)


def _config(kind: str, root: Path):
    cls = ImageClassifyConfig if kind == "image" else SentimentConfig
    return cls(dataset=str(root), quiet=True, seed=1)


@pytest.mark.parametrize("kind", ["image", pytest.param("text", marks=pytest.mark.slow)])
@pytest.mark.parametrize("names", SPELLINGS, ids=lambda names: "/".join(n or "-" for n in names))
def test_split_folders_are_recognised_in_any_case_and_spelling(tmp_path, kind, names):
    root = tmp_path / "download"
    for split, name in zip(("train", "validation", "test"), names, strict=True):
        if name:
            _write(kind, root / name, COUNTS[split], seed=len(split))
    splits = _load(_config(kind, root))
    assert len(splits.info.class_names) == 2  # never the split folders' names
    given = [split for split, name in zip(COUNTS, names, strict=True) if name]
    for split in given[1:]:
        assert splits.info.sizes[split] == 2 * COUNTS[split]  # used as given
    assert "train/" in splits.info.spec.layout and "folders given" in splits.info.spec.layout
    assert splits.info.summary.lines[0].endswith(
        f"({splits.info.spec.layout})" if kind == "image" else "one text a file)"
    )
    assert sum(splits.info.sizes.values()) == sum(2 * COUNTS[s] for s in given)


def test_split_names_are_words_of_a_name_not_parts_of_words():
    assert split_of("Training") == split_of("seg_train") == split_of("train2017") == "train"
    assert split_of("dev") == split_of("ValidSet") == split_of("VALIDATION") == "validation"
    assert split_of("20news-bydate-test") == split_of("testdata") == "test"
    for name in ("trainer", "contest", "devices", "test_train", "latest", "dataset"):
        assert split_of(name) is None, name


@pytest.mark.parametrize("kind", ["image", "text"])
def test_a_given_validation_folder_is_the_validation_split(tmp_path, kind):
    root = tmp_path / "data"
    _write(kind, root / "train", 10)
    _write(kind, root / "val", 3, seed=1)
    splits = _load(_config(kind, root))
    assert splits.info.sizes["validation"] == 6
    assert splits.info.sizes["test"] == 4  # test carved from train: 20% of each class
    assert splits.info.spec.layout == "train/ validation/ folders given (train, val)"


@pytest.mark.parametrize("kind", ["image", "text"])
def test_links_are_followed_and_a_loop_is_left_out(tmp_path, kind, caplog):
    real = _write(kind, tmp_path / "real", 12)
    root = tmp_path / "linked"
    root.mkdir()
    first, second = sorted(p.name for p in real.iterdir())
    os.symlink(real / first, root / first)  # a linked class folder
    (root / second).mkdir()
    os.symlink(real / second, root / second / "more")  # a linked folder inside a class
    os.symlink(root, root / first / "loop")  # back to a folder above it
    os.symlink(tmp_path / "nowhere", root / second / "broken")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(_config(kind, root))
    assert sum(splits.info.sizes.values()) == 24  # all 24, once each
    assert "1 link back to a folder above it (a loop)" in caplog.text
    assert "1 broken link" in caplog.text and str(root / first / "loop") in caplog.text


def test_a_walk_ends_in_every_kind_of_loop(tmp_path):
    root = _images(tmp_path / "root", count=3)
    os.symlink(root, root / "a" / "up")
    os.symlink(root / "a", root / "b" / "across")  # not a loop: a's files again
    os.symlink(tmp_path, root / "b" / "above_root")
    os.symlink("/", root / "a" / "filesystem_root")
    files = walk_files(root / "b")
    assert len([f for f in files if f.parent.name == "across"]) == 3
    assert not any("filesystem_root" in str(f) for f in walk_files(root / "a"))


@pytest.mark.parametrize("kind", ["image", "text"])
def test_an_archive_top_folder_is_looked_through(tmp_path, kind, caplog):
    root = tmp_path / "chest_xray"
    _write(kind, root / "chest_xray" / "train", 10)
    _write(kind, root / "chest_xray" / "test", 3, seed=1)
    _write(kind, root / "__MACOSX" / "chest_xray" / "train", 2, seed=2)  # zip leftovers
    with caplog.at_level(logging.INFO, logger="tfapps"):
        splits = _load(_config(kind, root))
    assert splits.info.sizes["test"] == 6
    assert f"read {root / 'chest_xray'} (the only folder in {root})" in caplog.text


def test_seg_train_seg_train_class_layout_reads_the_inner_classes(tmp_path):
    root = tmp_path / "intel"
    _images(root / "seg_train" / "seg_train", ("forest", "sea"), 10)
    _images(root / "seg_test" / "seg_test", ("forest", "sea"), 3, seed=1)
    write_png_folder(root / "seg_pred" / "seg_pred", {"x": 5})  # unlabelled, left out
    folder = scan_folder(root)
    assert folder.class_names == ["forest", "sea"]
    assert len(folder.images) == 26
    assert "1 unlabelled folder" in folder.layout.summary_warnings()[-1]


@pytest.mark.parametrize("kind", ["image", "text"])
def test_files_in_sub_folders_count_for_their_class_and_the_layout_says_so(tmp_path, kind):
    root = tmp_path / "nested"
    for part in ("indoor", "outdoor"):
        _write(kind, root / "train" / f"x_{part}", 6, seed=len(part))
    for name in ("x_indoor", "x_outdoor"):  # train/<class>/<sub>/...
        (root / "train" / name.split("_")[1]).mkdir(exist_ok=True)
    for path in sorted((root / "train").glob("x_*")):
        os.rename(path, root / "train" / path.name.split("_")[1] / "photos")
    layout = read_layout(root, kind, "root/<class>/")
    assert layout.class_names == ["indoor", "outdoor"]
    assert len(layout.files) == 24
    assert any("holds only sub-folders" in w and "indoor/photos" in w for w in layout.warnings)


def test_loose_files_hidden_files_and_empty_class_folders(tmp_path):
    root = _images(tmp_path / "photos", count=6)
    (root / "README.md").write_text("about these photos")
    (root / "a" / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "a" / "Thumbs.db").write_bytes(b"\x00\x01")
    (root / ".cache").mkdir()
    (root / "empty").mkdir()
    layout = read_layout(root, "image", "root/<class>/")
    assert layout.class_names == ["a", "b"]
    assert len(layout.files) == 12  # hidden and system files passed over
    warnings = " | ".join(layout.summary_warnings())
    assert "1 class folder of" in warnings and "hold no file and are left out: empty" in warnings
    assert "1 file outside the class folders" in warnings and "README.md" in warnings


def test_an_empty_split_folder_is_explained_and_carved_instead(tmp_path):
    root = tmp_path / "data"
    _images(root / "train", count=10)
    (root / "val" / "a").mkdir(parents=True)
    (root / "test").mkdir()
    splits = _load(_config("image", root))
    assert splits.info.sizes["test"] == 4 and splits.info.sizes["validation"] > 0
    warnings = " ".join(splits.info.summary.warnings)
    assert "the validation folder" in warnings and "is carved from train instead" in warnings
    assert splits.info.spec.layout == "train/ folders given"


def test_class_folders_of_other_splits_match_train_by_case_and_missing_ones_are_named(tmp_path):
    root = tmp_path / "data"
    _images(root / "Training", ("Glioma", "Pituitary", "Normal"), 6)
    _images(root / "Testing", ("glioma", "Pituitary"), 3, seed=1)
    layout = read_layout(root, "image", "root/<class>/")
    assert layout.class_names == ["Glioma", "Normal", "Pituitary"]
    assert {f.label for f in layout.files if f.split == "test"} == {"Glioma", "Pituitary"}
    warnings = " | ".join(layout.warnings)
    assert "the test class folder 'glioma' is read as train's 'Glioma'" in warnings
    assert "has no images of 'Normal'" in warnings


def _loose_files(root: Path) -> None:
    _images(root / "tmp", ("a",))
    for path in (root / "tmp" / "a").iterdir():
        path.rename(root / path.name)


def _classes_holding_splits(root: Path) -> None:
    for name in ("cats", "dogs"):
        write_png_folder(root / name, {"train": 4, "test": 2}, size=(8, 8))


REFUSED_LAYOUTS = {
    "splits beside classes": (
        lambda r: (_images(r / "train"), _images(r / "test"), _images(r)),
        ("holds split folders (test, train) beside other folders (a, b)",),
    ),
    "classes hold splits": (
        _classes_holding_splits,
        ("class folder", "cats holds split folders (test, train)", "root/<split>/<class>"),
    ),
    "two train": (
        lambda r: (_images(r / "train"), _images(r / "Training")),
        ("two train folders, Training and train",),
    ),
    "no train": (lambda r: (_images(r / "val"), _images(r / "test")), ("no train folder",)),
    "unknown test class": (
        lambda r: (_images(r / "train"), _images(r / "test", ("a", "c"))),
        ("class folder 'c' that the train folder lacks", "['a', 'b']"),
    ),
    "loose files only": (_loose_files, ("No images found", "10 files directly in it")),
    "empty train": (
        lambda r: (_images(r / "train" / "x", count=0), _images(r / "test")),
        ("holds no class folder with files",),
    ),
}


@pytest.mark.parametrize("build, fragments", REFUSED_LAYOUTS.values(), ids=REFUSED_LAYOUTS)
def test_layouts_that_cannot_be_read_as_meant_are_refused_in_one_line(tmp_path, build, fragments):
    root = tmp_path / "root"
    root.mkdir()
    build(root)
    with pytest.raises(InvalidInput) as refused:
        scan_folder(root)
    message = str(refused.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_class_named_like_a_split_that_holds_files_is_a_class(tmp_path):
    root = _images(tmp_path / "vehicles", ("bus", "car", "train"), 4)
    folder = scan_folder(root)
    assert folder.class_names == ["bus", "car", "train"]
    assert "class folder 'train' is named like a split folder" in folder.layout.warnings[0]


@pytest.mark.slow
def test_every_text_file_is_read_whatever_its_suffix_or_case(tmp_path, caplog):
    root = tmp_path / "texts"
    _texts(root, count=3, suffix=".TXT")
    _texts(root, count=3, suffix=".Txt", seed=1)
    _texts(root, count=3, suffix="", seed=2)  # 20 Newsgroups: no suffix
    (root / "neg" / "latin1.txt").write_bytes("caf\xe9 dull awful".encode("latin-1"))
    (root / "pos" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(_config("text", root))
    assert sum(splits.info.sizes.values()) == 19  # 9 a class, and the Latin-1 file
    assert "skipped 1 file: binary, not text (it holds NUL bytes)" in caplog.text
    assert "1 file not UTF-8" in caplog.text and "latin1.txt" in caplog.text
    texts = [
        t.decode()
        for split in ("train", "validation", "test")
        for t, _ in getattr(splits, split).as_numpy_iterator()
    ]
    assert "caf\ufffd dull awful" in texts


def test_aclimdb_unsup_is_left_out_and_said(tmp_path):
    root = tmp_path / "aclImdb"
    _texts(root / "train", ("neg", "pos", "unsup"), 6)
    _texts(root / "test", ("neg", "pos"), 3, seed=1)
    (root / "train" / "urls_neg.txt").write_text("http://example.com")
    (root / "README").write_text("Large Movie Review Dataset")
    splits = _load(_config("text", root))
    assert splits.info.class_names == ["neg", "pos"] and splits.info.sizes["test"] == 6
    left_out = splits.info.summary.warnings[0]
    assert "1 unlabelled folder" in left_out and "2 files outside the class folders" in left_out


def test_predict_walks_folders_as_training_does(tmp_path, caplog):
    from tfapps.data.text_folders import read_texts_under

    folder = tmp_path / "new"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.TXT").write_text("first")
    (folder / "sub" / "b").write_text("second")
    (folder / ".hidden.txt").write_text("never")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    os.symlink(folder, folder / "sub" / "loop")
    os.symlink(tmp_path / "elsewhere", folder / "gone")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.txt").write_text("third")
    paths, texts, warnings = read_texts_under(folder)
    assert texts == ["first", "third", "second"]
    assert "binary" in warnings[0] and "a loop" in warnings[0]
    images = walk_files(folder)
    assert [p.name for p in images] == ["a.TXT", "c.txt", "image.png", "b"]


def test_image_predict_reads_a_folder_through_links(tmp_path):
    from tfapps.data.info import DatasetInfo
    from tfapps.data.specs import ImageSpec
    from tfapps.runs import RunRecord
    from tfapps.tasks.image import ImageClassifyTask

    real = _images(tmp_path / "real", count=3)
    folder = tmp_path / "new"
    folder.mkdir()
    os.symlink(real / "a", folder / "linked")
    os.symlink(folder, folder / "linked_back")
    record = RunRecord(
        task="image-classify",
        run_id="x",
        status="complete",
        config={"task": "image-classify", "dataset": "x"},
        dataset=DatasetInfo(name="x", source="local", spec=ImageSpec(input_shape=[8, 8, 1])),
    )
    names, inputs = ImageClassifyTask().read_inputs(record, ["image"], [str(folder)])
    assert len(names) == 3 and inputs["image"].shape == (3, 8, 8, 1)
    assert np.all(inputs["image"].dtype == np.uint8)
