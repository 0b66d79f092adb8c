"""Image-classification splits: TFDS datasets with (image, label) keys, and local image folders.

A local folder (`root/<class>/...`, see `image_scan`) is streamed, never held at its photos'
full size: its headers are scanned, then every image is decoded, converted and fitted to the
model's input size right after it is read (`images.read_image`, in parallel threads), so
memory grows with images × input size only. Where the decoded folder fits in the memory
budget it is decoded once into memory before training; otherwise each image is checked once,
then read again every epoch through tf.data, with a cache on local disk when there is room
(`CachePlan`). Unreadable files are skipped and reported; splits are stratified by class.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.config import ImageConfig
from tfapps.data.image_scan import KEEP_SIZE_UP_TO, PHOTO_SIZE, ImageFolder, Skipped, scan_folder
from tfapps.data.images import ImageReadError, read_image
from tfapps.data.info import DatasetInfo
from tfapps.data.splits import SPLIT_NAMES, CachePlan, Splits, stratified_rows
from tfapps.data.summary import (
    DataSummary,
    class_warnings,
    classes_line,
    count_phrase,
    skipped_line,
    tfds_classes_summary,
)
from tfapps.data.tfds_source import read_classified_splits
from tfapps.errors import InvalidInput
from tfapps.progress import Progress

log = logging.getLogger("tfapps")

# Decoded images are kept in memory up to this share of the memory available at the start,
# and never beyond MEMORY_BUDGET_LIMIT (one tensor per split; TensorFlow cannot serialize a
# dataset graph holding a constant over 2 GB, which distribution strategies do).
MEMORY_BUDGET_SHARE = 0.25
MEMORY_BUDGET_LIMIT = 1536 * 2**20
DISK_HEADROOM = 1.2  # a disk cache needs this many times its size free on the disk
GATHER_BATCH = 64  # decoded images handed to tf.data per call


def from_tfds(builder: tfds.core.DatasetBuilder, source: str, config: ImageConfig) -> Splits:
    """Reads an image-classification TFDS dataset with `(image, label)` supervised keys.

    Images of varied sizes, or larger than `KEEP_SIZE_UP_TO` pixels, are fitted to
    `PHOTO_SIZE` (`--image-size` overrides) by `config.resize`.

    Args:
        builder: a prepared TFDS builder.
        source: `"embedded"` or `"catalog"`, recorded in the dataset info.
        config: the run's options (dataset name, validation split, image size, resize rule).
    """
    image_feature, label_feature = _supervised_features(builder, config.dataset)
    shape = list(image_feature.shape)
    if config.image_size is not None:
        shape[:2] = config.image_size
    elif None in shape[:2] or max(shape[:2]) > KEEP_SIZE_UP_TO:
        shape[:2] = PHOTO_SIZE
    carved = read_classified_splits(builder, config.validation_split)
    train, validation, test = carved.datasets
    if tuple(shape) != tuple(image_feature.shape):
        train, validation, test = (
            _resized(ds, shape[:2], config.resize) for ds in (train, validation, test)
        )
    class_names = list(label_feature.names)
    read = f"TFDS {builder.name} {builder.version}"
    summary = tfds_classes_summary(
        read, class_names, carved.train_labels, carved.too_small, "image"
    )
    summary.lines.append(f"model input {'x'.join(map(str, shape))} (resize {config.resize})")
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        class_names=class_names,
        input_shape=shape,
        details={
            "tfds_name": builder.name,
            "tfds_version": str(builder.version),
            "homepage": builder.info.homepage,
            "resize": config.resize,
        },
        summary=summary.to_dict(),
    )
    return Splits(train, validation, test, info)


def _supervised_features(builder, name: str):
    keys = builder.info.supervised_keys
    features = builder.info.features
    if not keys or len(keys) != 2:
        raise InvalidInput(
            f"TFDS dataset {name!r} has no (image, label) supervised keys; "
            "image-classify needs an image classification dataset."
        )
    image, label = (features[key] for key in keys)
    if not isinstance(image, tfds.features.Image) or not isinstance(
        label, tfds.features.ClassLabel
    ):
        raise InvalidInput(
            f"TFDS dataset {name!r} maps {keys[0]!r} to {type(image).__name__} and "
            f"{keys[1]!r} to {type(label).__name__}; image-classify needs "
            "an Image and a ClassLabel."
        )
    return image, label


def _resized(dataset: tf.data.Dataset, size, resize: str) -> tf.data.Dataset:
    import keras

    def fit(image, label):
        fitted = keras.ops.image.resize(
            tf.cast(image, tf.float32),
            size,
            antialias=True,
            crop_to_aspect_ratio=resize == "crop",
            pad_to_aspect_ratio=resize == "pad",
        )
        return tf.cast(tf.clip_by_value(tf.round(fitted), 0, 255), tf.uint8), label

    return dataset.map(fit, num_parallel_calls=tf.data.AUTOTUNE)


def from_folder(root: Path, config: ImageConfig) -> Splits:
    """Streams a local image folder into stratified splits, reproducibly by `config.seed`.

    Args:
        root: the folder given as `--dataset`.
        config: the run's options (seed, validation split, image size, resize rule, quiet).

    Raises:
        InvalidInput: no images, a single class, a class left without any readable image.
    """
    folder = scan_folder(root)
    size = tuple(config.image_size or folder.input_size())
    shape = (*size, folder.channels)
    labels = np.array([image.label for image in folder.images], np.int64)
    given_test = np.array([image.given_test for image in folder.images])
    rows, too_small = stratified_rows(labels, config.seed, config.validation_split, given_test)
    # Training rows in a seeded random order: a cache keeps the order it is first read in.
    rows["train"] = np.random.default_rng(config.seed).permutation(rows["train"])
    paths = np.array([str(image.path) for image in folder.images], dtype=object)
    needed = int(np.prod(shape)) * len(paths)
    cache = _cache_plan(needed)
    reader = _Reader(shape, config.resize, folder.skipped)
    progress = Progress("decoding images", len(paths), "images", quiet=config.quiet)
    datasets = {}
    for split in SPLIT_NAMES:
        kept, images = reader.read_all(paths[rows[split]], keep=cache.mode == "memory", on=progress)
        split_labels = labels[rows[split]][kept]
        if cache.mode == "memory":
            seed = config.seed if split == "train" else None
            datasets[split] = _from_arrays(images, split_labels, seed)
        else:
            datasets[split] = _streamed(paths[rows[split]][kept], split_labels, reader)
        rows[split] = rows[split][kept]
    seconds = progress.finish()
    _check_every_class_left(folder, labels, rows, reader.skipped)
    summary = _summary(folder, labels, rows, reader.skipped, too_small, shape, config, cache)
    summary.facts["decode_seconds"] = round(seconds, 2)
    info = DatasetInfo(
        name=config.dataset,
        source="local",
        class_names=folder.class_names,
        input_shape=list(shape),
        details={
            "path": str(root.resolve()),
            "channels": folder.channels,
            "image_size": list(size),
            "resize": config.resize,
            "resized": sum(image.size != size for image in folder.images),
            "cache": {"mode": cache.mode, "bytes": needed},
        },
        summary=summary.to_dict(),
    )
    plan = CachePlan("none") if cache.mode == "memory" else cache  # decoded: nothing to cache
    return Splits(*(datasets[name] for name in SPLIT_NAMES), info, cache=plan)


class _Reader:
    """Reads images at the input shape in parallel threads, collecting the unreadable ones."""

    def __init__(self, shape: tuple[int, int, int], resize: str, skipped: Skipped) -> None:
        self.size, self.channels, self.resize = shape[:2], shape[2], resize
        self.skipped = skipped

    def read(self, path: str) -> np.ndarray:
        return read_image(Path(path), self.size, self.channels, self.resize)

    def read_all(self, paths: np.ndarray, keep: bool, on: Progress):
        """Reads every file; returns `(mask of readable files, their arrays or None)`.

        With `keep`, the arrays are stacked (memory grows with files × input size only);
        otherwise each is dropped once read, which checks that it decodes.
        """
        height, width = self.size
        arrays = np.zeros((len(paths), height, width, self.channels), np.uint8) if keep else None
        readable = np.ones(len(paths), bool)

        def one(index: int) -> None:
            try:
                image = self.read(paths[index])
            except ImageReadError as error:
                readable[index] = False
                self.skipped.add(error.reason, Path(paths[index]))
                return
            if keep:
                arrays[index] = image

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for _ in pool.map(one, range(len(paths))):
                on.advance()
        if not keep:
            return readable, None
        return readable, arrays if readable.all() else arrays[readable]


def _from_arrays(images: np.ndarray, labels: np.ndarray, shuffle_seed: int | None):
    """Examples from decoded arrays, which stay NumPy's (a tensor would be a second copy);
    with `shuffle_seed`, in a new random order every epoch (only the indices are shuffled)."""
    count = len(images)
    order = tf.data.Dataset.range(count)
    if shuffle_seed is not None:
        order = order.shuffle(count, seed=shuffle_seed, reshuffle_each_iteration=True)

    def gather(indices):
        batch, batch_labels = tf.numpy_function(
            lambda i: (images[i], labels[i]), [indices], (tf.uint8, tf.int64), stateful=False
        )
        return tf.ensure_shape(batch, (None, *images.shape[1:])), tf.ensure_shape(
            batch_labels, (None,)
        )

    dataset = order.batch(GATHER_BATCH).map(gather)  # a copy: one call at a time is enough
    return dataset.unbatch().apply(tf.data.experimental.assert_cardinality(count))


def _streamed(paths: np.ndarray, labels: np.ndarray, reader: _Reader) -> tf.data.Dataset:
    """Reads each image when the pipeline asks for it (files are decoded every epoch unless
    the pipeline caches them)."""
    shape = (*reader.size, reader.channels)

    def load(path, label):
        image = tf.numpy_function(lambda p: reader.read(p.decode()), [path], tf.uint8)
        return tf.ensure_shape(image, shape), label

    dataset = tf.data.Dataset.from_tensor_slices((paths.astype(str), labels))
    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _cache_plan(needed: int) -> CachePlan:
    """Memory when the decoded folder fits the memory budget, else a disk cache in the
    system's temporary directory (never beside the photos, which may be read-only) when the
    disk has room, else no cache."""
    if needed <= memory_budget():
        return CachePlan("memory")
    scratch = Path(tempfile.gettempdir())
    if shutil.disk_usage(scratch).free >= DISK_HEADROOM * needed:
        directory = tempfile.mkdtemp(prefix="tfapps-cache-", dir=scratch)
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        return CachePlan("disk", directory)
    return CachePlan("none")


def memory_budget() -> int:
    """Bytes of decoded images kept in memory: `MEMORY_BUDGET_SHARE` of the memory available
    now (Linux `MemAvailable`, else all physical memory), at most `MEMORY_BUDGET_LIMIT`."""
    available = None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    if available is None:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(min(MEMORY_BUDGET_LIMIT, available * MEMORY_BUDGET_SHARE))


def _check_every_class_left(folder: ImageFolder, labels, rows, skipped: Skipped) -> None:
    kept = np.concatenate([labels[rows[split]] for split in SPLIT_NAMES])
    for index, name in enumerate(folder.class_names):
        if not (kept == index).any():
            raise InvalidInput(
                f"Class folder {folder.root / name} holds no readable image: "
                f"{skipped_line(skipped.to_dict(), 'file')}."
            )


def _summary(folder, labels, rows, skipped, too_small, shape, config, cache) -> DataSummary:
    counts = {
        name: int(sum((labels[rows[split]] == index).sum() for split in SPLIT_NAMES))
        for index, name in enumerate(folder.class_names)
    }
    sizes = [image.size for image in folder.images]
    lines = [
        f"{classes_line(counts, 'image')} from {folder.root}",
        f"image sizes {min(w for _, w in sizes)}-{max(w for _, w in sizes)} px wide, "
        f"{min(h for h, _ in sizes)}-{max(h for h, _ in sizes)} px high "
        f"({count_phrase(len(set(sizes)), 'size')}); model input {'x'.join(map(str, shape))} "
        f"({'grayscale' if shape[2] == 1 else 'RGB'}, resize {config.resize}), "
        f"cache: {_cache_words(cache)}",
    ]
    warnings = [skipped_line(skipped.to_dict(), "file")] if skipped.counts else []
    small = [folder.class_names[index] for index in too_small]
    warnings += class_warnings(counts, small, "image")
    return DataSummary(
        lines=lines,
        warnings=warnings,
        facts={
            "images": sum(counts.values()),
            "classes": counts,
            "train_classes": _train_counts(folder, labels, rows),
            "skipped": skipped.to_dict(),
            "distinct_sizes": len(set(sizes)),
        },
    )


def _train_counts(folder: ImageFolder, labels, rows) -> dict[str, int]:
    train = labels[rows["train"]]
    return {name: int((train == index).sum()) for index, name in enumerate(folder.class_names)}


def _cache_words(cache: CachePlan) -> str:
    return {
        "memory": "decoded once into memory",
        "disk": f"on disk in {cache.directory}",
        "none": "none (decoded every epoch)",
    }[cache.mode]
