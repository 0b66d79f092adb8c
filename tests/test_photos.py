"""Photo folders: every format Pillow reads, 16-bit images, what was read, streaming and caching,
the resize rule shared by training and predict, augmentation only in training, and progress."""

from __future__ import annotations

import io
import json
import logging
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tfapps.data import image_decoding
from tfapps.data.image_scan import PHOTO_SIZE, scan_folder
from tfapps.data.images import ImageReadError, read_image

FORMATS = {  # suffix → Pillow format
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "bmp": "BMP",
    "gif": "GIF",
    "webp": "WEBP",
    "tif": "TIFF",
    "tiff": "TIFF",
}
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def photo(colour, size=(240, 180), seed=0) -> Image.Image:
    """A photo-like RGB image: a class colour, a gradient and noise, `size` = (width, height)."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0.6, 1.0, width)[None, :, None]
    pixels = np.asarray(colour)[None, None, :] * ramp + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_photo_folder(root, per_class: int = 12, seed: int = 0, sizes=None):
    """`root/<colour>/*` photos of varied sizes, cycling through every format."""
    rng = np.random.default_rng(seed)
    suffixes = list(FORMATS)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            size = sizes[index % len(sizes)] if sizes else tuple(rng.integers(150, 420, 2))
            suffix = suffixes[index % len(suffixes)]
            image = photo(colour, size, seed=index)
            image.save(root / name / f"{index}.{suffix}", FORMATS[suffix])
    return root


@pytest.mark.slow
def test_every_common_format_is_read_whatever_its_suffix(tmp_path):
    root = write_photo_folder(tmp_path / "photos", per_class=len(FORMATS))
    photo(COLOURS["red"]).save(root / "red" / "really_a_png.jpg", "PNG")
    photo(COLOURS["red"]).save(root / "red" / "no_suffix", "JPEG")
    (root / "red" / "notes.txt").write_text("not an image")
    (root / "red" / ".DS_Store").write_bytes(b"\x00\x01")
    folder = scan_folder(root)
    assert folder.class_counts() == {"blue": 8, "green": 8, "red": 10}
    assert dict(folder.skipped.counts) == {"not an image Pillow can read": 1}
    assert folder.channels == 3 and _config(root).model_input(folder.common_size()) == (
        PHOTO_SIZE,
        "none",
    )
    for image in folder.images:
        pixels = read_image(image.path, (32, 40), 3)
        assert pixels.shape == (32, 40, 3) and pixels.dtype == np.uint8
        red, green, blue = pixels.reshape(-1, 3).mean(0)
        expected = folder.class_names[image.label]
        assert {"red": red, "green": green, "blue": blue}[expected] == max(red, green, blue)


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_wide_images_are_scaled_to_8_bits_not_clipped(tmp_path, mode):
    ramp = np.tile(np.linspace(0, 1, 64), (16, 1))
    if mode == "F":
        image, path = Image.fromarray(ramp.astype(np.float32)), tmp_path / "ramp.tif"
    else:
        values = (ramp * 65535).astype(np.uint16 if mode == "I;16" else np.int32)
        suffix = "png" if mode == "I;16" else "tif"  # PNG holds 16 bits, TIFF 32
        image, path = Image.fromarray(values), tmp_path / f"ramp.{suffix}"
    assert image.mode == mode
    image.save(path)
    pixels = read_image(path, (16, 64), 1)[..., 0]
    np.testing.assert_allclose(pixels[0], np.round(np.linspace(0, 255, 64)), atol=1)
    assert pixels.min() == 0 and pixels.max() == 255 and len(np.unique(pixels)) > 60


def test_exif_orientation_is_applied(tmp_path):
    image = photo(COLOURS["red"], size=(200, 100))  # wide, stored turned a quarter
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: the viewer turns the image
    image.save(tmp_path / "turned.jpg", exif=exif)
    folder_root = tmp_path / "f"
    (folder_root / "a").mkdir(parents=True)
    (folder_root / "b").mkdir()
    image.save(folder_root / "a" / "turned.jpg", exif=exif)
    photo(COLOURS["blue"]).save(folder_root / "b" / "plain.jpg")
    sizes = {p.path.name: p.size for p in scan_folder(folder_root).images}
    assert sizes["turned.jpg"] == (200, 100)  # (height, width) as displayed

    halves = Image.new("RGB", (200, 100), COLOURS["blue"])
    halves.paste(COLOURS["red"], (0, 0, 100, 100))  # red on the left as stored
    halves.save(tmp_path / "halves.jpg", exif=exif)
    pixels = read_image(tmp_path / "halves.jpg", (200, 100), 3).astype(int)
    top, bottom = pixels[:90].mean(axis=(0, 1)), pixels[110:].mean(axis=(0, 1))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # as a viewer shows it


@pytest.mark.parametrize(
    ("rule", "corner_black"), [("stretch", False), ("crop", False), ("pad", True)]
)
def test_resize_rules_fit_another_aspect_ratio(tmp_path, rule, corner_black):
    photo(COLOURS["green"], size=(300, 100)).save(tmp_path / "wide.png")
    pixels = read_image(tmp_path / "wide.png", (60, 60), 3, rule)
    assert pixels.shape == (60, 60, 3)
    assert (pixels[0, 0].max() == 0) == corner_black  # pad fills with black above and below


def test_unreadable_files_name_their_reason(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(ImageReadError, match="an empty file"):
        read_image(tmp_path / "empty.png", (8, 8), 1)
    with pytest.raises(ImageReadError, match="not an image Pillow can read") as error:
        read_image(tmp_path / "text.jpg", (8, 8), 1)
    said = error.value.said_of("the b64 image")
    assert said == "the b64 image is not an image Pillow can read"
    with pytest.raises(ImageReadError) as error:
        read_image(tmp_path / "empty.png", (8, 8), 1)
    assert error.value.said_of("the b64 image") == "the b64 image is an empty file"
    unopened = ImageReadError(tmp_path / "gone.png", "cannot be opened")
    assert unopened.said_of("the b64 image") == "the b64 image cannot be opened"


def _config(root, **options):
    from tfapps.tasks.image import ImageClassifyConfig

    # The convnet's reading of photos (a pretrained backbone, automatic for photos where its
    # weights are installed, takes its own size: tests/test_transfer.py).
    return ImageClassifyConfig(dataset=str(root), quiet=True, **({"backbone": "none"} | options))


def _arrays(dataset):
    return [(image.tolist(), int(label)) for image, label in dataset.as_numpy_iterator()]


@pytest.mark.slow
def test_a_folder_reads_the_same_through_memory_disk_or_no_cache(tmp_path, monkeypatch, caplog):
    from tfapps.data.load import load_splits

    root = write_photo_folder(tmp_path / "photos", per_class=10)
    with caplog.at_level(logging.INFO, logger="tfapps"):
        in_memory = load_splits(_config(root))
    assert in_memory.info.spec.cache == "memory"
    assert "30 images in 3 classes (blue 10, green 10, red 10)" in caplog.text
    summary = in_memory.info.summary.facts
    assert summary["classes"] == {"blue": 10, "green": 10, "red": 10}
    assert in_memory.info.spec.input_shape == [*PHOTO_SIZE, 3]

    monkeypatch.setattr(image_decoding, "MEMORY_BUDGET_LIMIT", 0)  # a folder larger than memory
    on_disk = load_splits(_config(root))
    assert on_disk.info.spec.cache == "disk"
    directory = on_disk.cache.directory
    assert directory.startswith(image_decoding.tempfile.gettempdir()) and str(root) not in directory
    monkeypatch.setattr(image_decoding, "DISK_HEADROOM", float("inf"))  # and no room on disk
    uncached = load_splits(_config(root))
    assert uncached.info.spec.cache == "none" and uncached.cache.target() is None
    for split in ("validation", "test"):
        expected = _arrays(getattr(in_memory, split))
        assert _arrays(getattr(on_disk, split)) == expected
        assert _arrays(getattr(uncached, split)) == expected
    assert sorted(_arrays(on_disk.train), key=str) == sorted(_arrays(in_memory.train), key=str)


@pytest.mark.slow
@pytest.mark.parametrize("plan", ["memory", "disk"])
def test_a_folder_with_room_is_decoded_once_and_skips_what_does_not_decode(
    tmp_path, monkeypatch, plan
):
    """The check that every image decodes keeps what it decoded, in memory or on disk, so an
    epoch reads no photo again; a file that does not decode is still skipped and reported."""
    from tfapps.data.load import load_splits
    from tfapps.pipeline import batched

    root = write_photo_folder(tmp_path / "photos", per_class=6)
    photo(COLOURS["red"], seed=9).save(tmp_path / "whole.jpg", quality=95)
    whole = (tmp_path / "whole.jpg").read_bytes()
    cut = root / "red" / "cut.jpg"
    cut.write_bytes(whole[: len(whole) * 2 // 3])  # its header reads; its pixels do not
    reads = []

    def counted(path, *args, **kwargs):
        reads.append(str(path))
        return read_image(path, *args, **kwargs)

    monkeypatch.setattr(image_decoding, "read_image", counted)
    if plan == "disk":
        monkeypatch.setattr(image_decoding, "MEMORY_BUDGET_LIMIT", 0)
    splits = load_splits(_config(root))
    assert splits.info.spec.cache == plan
    skipped = splits.info.summary.facts["skipped"].values()
    assert [(why["files"], why["example"]) for why in skipped] == [(1, str(cut))]
    photos = sorted(str(path) for path in root.rglob("*.*"))
    assert sorted(reads) == photos  # each decoded once, the cut file tried once
    for _ in range(2):  # two epochs, through the pipeline as training batches them
        for name, split in splits.items():
            cache = splits.cache.target()
            list(batched(split, 4, 0 if name == "train" else None, cache=cache))
    assert sorted(reads) == photos


@pytest.mark.slow
def test_splits_keep_every_class_and_warn_of_tiny_ones(tmp_path, caplog):
    from tfapps.data.load import load_splits

    root = write_photo_folder(tmp_path / "photos", per_class=10)
    for extra in list((root / "blue").iterdir())[2:]:
        extra.unlink()  # blue keeps 2 photos
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = load_splits(_config(root))
    for split in ("validation", "test"):
        labels = {label for _, label in getattr(splits, split).as_numpy_iterator()}
        assert labels >= {1, 2}  # green and red reach every split
    assert "class 'blue' has 2 images: too few to reach both validation and test" in caplog.text


@pytest.mark.slow
def test_the_train_split_comes_in_a_new_order_every_epoch(tmp_path):
    from tfapps.data.load import load_splits

    splits = load_splits(_config(write_photo_folder(tmp_path / "photos", per_class=8)))
    first, second = ([label for _, label in splits.train.as_numpy_iterator()] for _ in range(2))
    assert sorted(first) == sorted(second) and first != second


def test_augmentation_is_inactive_at_inference():
    from tfapps.tasks.image_model import build_image_classifier

    shape = (64, 64, 3)
    augmented = build_image_classifier(shape, 3, filters=(4, 8), augment=True)
    plain = build_image_classifier(shape, 3, filters=(4, 8), augment=False)
    for layer in plain.layers:
        layer.set_weights(augmented.get_layer(layer.name).get_weights())
    images = np.random.default_rng(0).integers(0, 255, (4, *shape), dtype=np.uint8)
    np.testing.assert_array_equal(augmented(images, training=False), plain(images, training=False))
    assert not np.allclose(augmented(images, training=True), plain(images, training=True))


@pytest.mark.parametrize(
    ("shape", "filters", "augment"),
    [
        ((8, 8, 1), (32, 64), False),  # digits keep their model
        ((28, 28, 1), (32, 64), False),  # MNIST too
        ((180, 180, 3), (16, 32, 64, 64), True),  # photos: 11x11 at the end
        ((64, 48, 3), (16, 32, 64), False),
    ],
)
def test_the_conv_stack_and_augmentation_fit_the_input(shape, filters, augment):
    from tfapps.tasks.image_model import auto_augment, auto_filters, build_image_classifier

    assert auto_filters(shape) == filters and auto_augment(shape) == augment
    model = build_image_classifier(shape, 5)
    flatten = model.get_layer("flatten").input.shape
    assert max(flatten[1:3]) <= 12


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def screen(text: str) -> list[str]:
    """The lines a terminal shows after `text` (carriage return, newline, cursor up, erase to
    the end of the line), without the empty ones."""
    lines, row, column = [""], 0, 0
    for token in re.split(r"(\x1b\[1A|\x1b\[K|\r|\n)", text):
        if token == "\n":
            row, column = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token == "\r":
            column = 0
        elif token == "\x1b[K":
            lines[row] = lines[row][:column]
        elif token == "\x1b[1A":
            row = max(0, row - 1)
        elif token:
            lines[row] = lines[row][:column] + token + lines[row][column + len(token) :]
            column += len(token)
    return [line for line in lines if line]


def _fit_with_progress(stream, log_seconds=0.0, stop_after=60, fail_at=None) -> None:
    """Fits a tiny model for up to 60 epochs under `TrainingProgress`, writing to `stream`;
    stops after epoch `stop_after` as early stopping would, or fails at the start of epoch
    `fail_at` (0-based)."""
    import keras

    from tfapps.callbacks import TrainingProgress

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")

    def end(epoch, logs):
        model.stop_training = epoch + 1 == stop_after

    def begin(epoch, logs):
        if epoch == fail_at:
            raise RuntimeError("interrupted")

    events = keras.callbacks.LambdaCallback(on_epoch_begin=begin, on_epoch_end=end)
    data = np.ones((16, 2)), np.ones(16)
    with TrainingProgress(8, stream=stream, log_seconds=log_seconds) as progress:
        model.fit(
            *data, validation_data=data, batch_size=8, epochs=60, verbose=0,
            callbacks=[progress, events],
        )  # fmt: skip


@pytest.mark.slow
def test_progress_draws_in_place_on_a_terminal():
    stream = Terminal()
    _fit_with_progress(stream)
    # the live lines are redrawn in place, then replaced by one closing line
    assert screen(stream.getvalue()) == [screen(stream.getvalue())[-1]]
    assert screen(stream.getvalue())[-1].startswith("trained 60 epochs in")
    assert "\x1b[1A" in stream.getvalue()  # two live lines: the run and the epoch


@pytest.mark.slow
@pytest.mark.parametrize(
    ("log_seconds", "stop_after", "epochs_shown"),
    [(3600, 60, [1, 60]), (3600, 30, [1, 30]), (0, 60, list(range(1, 61)))],
)
def test_progress_in_a_log_shows_the_first_and_last_epoch_and_one_every_few_seconds(
    log_seconds, stop_after, epochs_shown
):
    stream = io.StringIO()
    _fit_with_progress(stream, log_seconds, stop_after)
    *epochs, closing = stream.getvalue().splitlines()
    assert [line.split()[1] for line in epochs] == [f"{n}/60" for n in epochs_shown]
    assert all(line.startswith("epoch ") and "val_loss" in line for line in epochs)
    assert closing.startswith(f"trained {stop_after} epochs in")


@pytest.mark.slow
def test_an_interrupted_fit_stops_redrawing_its_live_lines(monkeypatch):
    import time

    from tfapps import progress

    monkeypatch.setattr(progress, "TICK_SECONDS", 0.01)
    stream = Terminal()
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit_with_progress(stream, fail_at=3)
    written = stream.getvalue()
    time.sleep(0.1)  # about ten ticks: none may draw again
    assert stream.getvalue() == written and written.endswith("\n")
    assert screen(written)[0].startswith("epoch 4/60")  # where it stopped stays on screen


def test_decoding_progress_in_a_log_prints_its_start_and_end(monkeypatch):
    from tfapps.progress import Progress

    stream = io.StringIO()
    with Progress("decoding images", 30, "images", stream=stream, log_seconds=3600) as shown:
        for _ in range(30):
            shown.advance()
        shown.finish()
    start, end = stream.getvalue().splitlines()
    assert start == "decoding images: 30 images..."
    assert end.startswith("decoding images: 30 images in ")


def test_the_memory_budget_is_a_share_of_the_memory_available(monkeypatch):
    import psutil

    available = 2 * image_decoding.MEMORY_BUDGET_LIMIT
    memory = psutil.virtual_memory()._replace(available=available)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory)
    monkeypatch.setattr(image_decoding, "MEMORY_BUDGET_LIMIT", available)  # not the limit
    assert image_decoding.memory_budget() == int(available * image_decoding.MEMORY_BUDGET_SHARE)


def test_steps_per_call_keep_a_call_near_a_second_and_do_not_depend_on_timing():
    import keras

    from tfapps.steps_per_execution import (
        MAX_STEPS_PER_EXECUTION,
        auto_steps_per_execution,
        model_multiply_adds,
        steps_for,
    )
    from tfapps.tasks import TaskModel
    from tfapps.tasks.image_model import build_image_classifier
    from tfapps.tasks.text_model import build_text_classifier

    assert steps_for(0.001) == MAX_STEPS_PER_EXECUTION  # small models keep 32 steps a call
    assert steps_for(0.1) == 10
    assert steps_for(3.0) == 1
    small = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    assert model_multiply_adds(small) == 8 * 8 * 9 * 4 + 256 * 2
    strided = build_text_classifier(100, 500, 2, embedding_dim=8)  # lengths unknown, stride 3
    assert (
        model_multiply_adds(strided, 500)
        == 167 * 7 * 8 * 128 + 56 * 7 * 128 * 128 + 128 * 128 + 128
    )
    photos = TaskModel(build_image_classifier((180, 180, 3), 5, augment=True))
    digits = TaskModel(build_image_classifier((8, 8, 1), 10))
    assert auto_steps_per_execution(digits, 32) == MAX_STEPS_PER_EXECUTION
    assert 1 < auto_steps_per_execution(photos, 32) < MAX_STEPS_PER_EXECUTION
    assert auto_steps_per_execution(photos, 32, gpu=True) == MAX_STEPS_PER_EXECUTION


@pytest.mark.slow
def test_a_photo_predicts_as_its_training_copy_whatever_its_size(tmp_path, run_cli):
    root = write_photo_folder(tmp_path / "photos", per_class=12, sizes=[(300, 200), (200, 300)])
    output = tmp_path / "runs"
    result = run_cli(
        "image-classify",
        "--dataset",
        root,
        "--backbone",
        "none",
        "--epochs",
        8,
        "--output-dir",
        output,
    )
    assert result.exit_code == 0, result.output
    assert "36 images in 3 classes (blue 12, green 12, red 12)" in result.output
    run_dir = next((output / "image-classify" / "photos").iterdir())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["config"]["resize"] == "stretch" and record["training"]["augment"] is True
    assert record["dataset"]["spec"]["input_shape"] == [180, 180, 3]
    copies = tmp_path / "copies"
    copies.mkdir()
    for name in COLOURS:
        original = Image.open(root / name / "0.png")
        original.resize((640, 280)).convert("P").save(copies / f"{name}.gif")  # other size, mode
    predicted = run_cli("predict", run_dir, copies, "--output", tmp_path / "p.csv")
    assert predicted.exit_code == 0, predicted.output
    table = pd.read_csv(tmp_path / "p.csv")
    assert {row.input.split("/")[-1]: row.prediction for row in table.itertuples()} == {
        "blue.gif": "blue",
        "green.gif": "green",
        "red.gif": "red",
    }


@pytest.mark.slow
def test_digits_as_a_folder_of_pngs_keep_their_accuracy(tmp_path):
    from sklearn.datasets import load_digits

    from tfapps.api import train

    digits = load_digits()
    for index, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        folder = tmp_path / "digits" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(pixels * 255 / 16).astype(np.uint8)).save(folder / f"{index}.png")
    result = train(_config(tmp_path / "digits", output_dir=str(tmp_path / "runs")))
    assert result.headline["value"] >= 0.975
