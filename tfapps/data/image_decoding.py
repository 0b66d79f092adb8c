"""Reading a local image folder into the model's input (plain NumPy and Pillow).

Its headers are scanned (`image_scan`), then every image is decoded, converted and fitted to
the input size right after it is read (`images.read_image`, in parallel threads), so memory
grows with images × input size only, never with the photos' pixel count. Each image is read
once, and kept where the check put it (`CachePlan`): in memory when the decoded folder fits
the memory budget, else in one NumPy file per split on local disk when there is room; only
when neither has room is each image checked here and read again every epoch. Nothing here
imports TensorFlow; `image_data.from_folder` makes the datasets.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psutil

from tfapps.data.duplicates import GIVEN, find_duplicates
from tfapps.data.image_scan import ImageFolder, Skipped, scan_folder
from tfapps.data.images import ImageReadError, read_image
from tfapps.data.info import SPLIT_NAMES, CachePlan, DatasetInfo
from tfapps.data.specs import DataOrigin, ImageSpec
from tfapps.data.stratify import in_random_order, stratified_groups, uneven_splits
from tfapps.data.summary import (
    DataSummary,
    class_warnings,
    classes_line,
    count_phrase,
    skipped_line,
)
from tfapps.errors import InvalidInput
from tfapps.progress import Progress

if TYPE_CHECKING:
    from tfapps.tasks.image import ImageClassifyConfig

# Decoded images are kept in memory up to this share of the memory available at the start,
# and never beyond MEMORY_BUDGET_LIMIT (one tensor per split; TensorFlow cannot serialize a
# dataset graph holding a constant over 2 GB, which distribution strategies do).
MEMORY_BUDGET_SHARE = 0.25
MEMORY_BUDGET_LIMIT = 1536 * 2**20
DISK_HEADROOM = 1.2  # a disk cache needs this many times its size free on the disk


@dataclass
class DecodedFolder:
    """A folder as read for training.

    Args:
        info: what was read (classes, input shape, cache, summary).
        labels: every image's class index, in scan order.
        paths: every image's path, in scan order.
        rows: each split's rows (train in a seeded random order), unreadable ones removed.
        cache: where the decoded images are kept.
        arrays: each split's decoded images `[n, height, width, channels]` (uint8), in
            memory or memory-mapped from the disk cache; empty when not kept.
        reader: reads one image at the input shape (for reading again every epoch).
    """

    info: DatasetInfo
    labels: np.ndarray
    paths: np.ndarray
    rows: dict[str, np.ndarray]
    cache: CachePlan
    arrays: dict[str, np.ndarray]
    reader: ImageReader


def decode_folder(root: Path, config: ImageClassifyConfig) -> DecodedFolder:
    """Reads a local image folder into stratified, decoded splits (see the module docstring).

    Args:
        root: the image folder (`root/<class>/...`, see `image_scan`).
        config: the run's options (seed, validation split, image size, resize rule, quiet).

    Raises:
        InvalidInput: no images, a single class, a class left without any readable image.
    """
    folder = scan_folder(root)
    size, backbone = config.model_input(folder.common_size())
    shape = (*size, folder.channels)
    labels = np.array([image.label for image in folder.images], np.int64)
    given = np.array([GIVEN[image.split] for image in folder.images], np.int8)
    duplicates = find_duplicates([image.key for image in folder.images], labels, given)
    path_of = [str(image.path) for image in folder.images].__getitem__
    duplicates.refuse_emptied_classes(labels, folder.class_names, "image", path_of)
    rows, too_small = stratified_groups(labels, duplicates, config.seed, config.validation_split)
    rows = in_random_order(rows, config.seed)
    paths = np.array([str(image.path) for image in folder.images], dtype=object)
    needed = int(np.prod(shape)) * len(paths)
    cache = _cache_plan(needed)
    reader = ImageReader(shape, config.resize, folder.skipped)
    arrays = {}
    with Progress("decoding images", len(paths), "images", quiet=config.quiet) as progress:
        for split in SPLIT_NAMES:
            into = _storage(cache, split, (len(rows[split]), *shape))
            kept, images = reader.read_all(paths[rows[split]], into, on=progress)
            if images is not None:
                arrays[split] = images
            rows[split] = rows[split][kept]
        seconds = progress.finish()
    _check_every_class_left(folder, labels, rows, reader.skipped)
    sizes = {name: len(part) for name, part in rows.items()}
    uneven = None if given.any() else uneven_splits(sizes, config.validation_split, "image")
    small = [folder.class_names[index] for index in too_small]
    summary = _summary(folder, labels, rows, reader.skipped, small, uneven, shape, config, cache)
    duplicates.summarize(summary, "image", path_of, folder.class_names, labels)
    summary.facts["decode_seconds"] = round(seconds, 2)
    note = config.model_note(folder.common_size(), backbone)
    summary.lines += [note] if note else []
    info = DatasetInfo(
        name=config.dataset,
        source="local",
        origin=DataOrigin(path=str(root.resolve())),
        class_names=folder.class_names,
        train_class_counts=_train_counts(folder, labels, rows),
        spec=ImageSpec(
            input_shape=list(shape),
            resize=config.resize,
            source_size=list(size),
            resized=sum(image.size != size for image in folder.images),
            cache=cache.mode,
            cache_bytes=needed,
            backbone=backbone,
            layout=folder.layout.describe(),
        ),
        summary=summary,
    )
    return DecodedFolder(info, labels, paths, rows, cache, arrays, reader)


class ImageReader:
    """Reads images at the input shape in parallel threads, collecting the unreadable ones."""

    def __init__(self, shape: tuple[int, int, int], resize: str, skipped: Skipped) -> None:
        self.size, self.channels, self.resize = shape[:2], shape[2], resize
        self.skipped = skipped

    def read(self, path: str) -> np.ndarray:
        return read_image(Path(path), self.size, self.channels, self.resize)

    def read_all(self, paths: np.ndarray, into: np.ndarray | None, on: Progress):
        """Reads every file; returns `(mask of readable files, their arrays or None)`.

        The arrays are decoded into `into` (`[len(paths), height, width, channels]` uint8, in
        memory or memory-mapped), the readable ones moved to its start in place, and its
        start returned; with `into=None`, each array is dropped once read, which checks that
        it decodes.
        """
        readable = np.ones(len(paths), bool)

        def one(index: int) -> None:
            try:
                image = self.read(paths[index])
            except ImageReadError as error:
                readable[index] = False
                self.skipped.add(error.reason, Path(paths[index]))
                return
            if into is not None:
                into[index] = image

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for _ in pool.map(one, range(len(paths))):
                on.advance()
        if into is None:
            return readable, None
        kept = np.flatnonzero(readable)
        for target, source in enumerate(kept):  # no copy of the whole array
            if target != source:
                into[target] = into[source]
        return readable, into[: len(kept)]


def _storage(cache: CachePlan, split: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """Where a split's decoded images go: an array in memory, a NumPy file in the disk
    cache's directory (memory-mapped), or nowhere (`None`) when there is no cache."""
    if cache.mode == "memory":
        return np.zeros(shape, np.uint8)
    if cache.mode == "disk":
        path = Path(cache.directory) / f"{split}.npy"
        return np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    return None


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
    now (psutil's `virtual_memory().available`), at most `MEMORY_BUDGET_LIMIT`."""
    available = psutil.virtual_memory().available
    return int(min(MEMORY_BUDGET_LIMIT, available * MEMORY_BUDGET_SHARE))


def _check_every_class_left(folder: ImageFolder, labels, rows, skipped: Skipped) -> None:
    kept = np.concatenate([labels[rows[split]] for split in SPLIT_NAMES])
    for index, name in enumerate(folder.class_names):
        if not (kept == index).any():
            raise InvalidInput(
                f"Class folder {folder.root / name} holds no readable image: "
                f"{skipped_line(skipped.to_dict(), 'file')}."
            )


def _summary(folder, labels, rows, skipped, small, uneven, shape, config, cache) -> DataSummary:
    """The summary of an image folder; `small` names the classes too small to reach every
    split, `uneven` is `stratify.uneven_splits`' phrase (or `None`)."""
    counts = {
        name: int(sum((labels[rows[split]] == index).sum() for split in SPLIT_NAMES))
        for index, name in enumerate(folder.class_names)
    }
    sizes = [image.size for image in folder.images]
    lines = [
        f"{classes_line(counts, 'image')} from {folder.root} ({folder.layout.describe()})",
        *folder.layout.lines,
        f"image sizes {min(w for _, w in sizes)}-{max(w for _, w in sizes)} px wide, "
        f"{min(h for h, _ in sizes)}-{max(h for h, _ in sizes)} px high "
        f"({count_phrase(len(set(sizes)), 'size')}); model input {'x'.join(map(str, shape))} "
        f"({'grayscale' if shape[2] == 1 else 'RGB'}, resize {config.resize}), "
        f"cache: {_cache_words(cache)}",
    ]
    warnings = folder.layout.summary_warnings()
    warnings += [skipped_line(skipped.to_dict(), "file")] if skipped.counts else []
    warnings += class_warnings(counts, small, "image", uneven)
    return DataSummary(
        lines=lines,
        warnings=warnings,
        facts={
            "images": sum(counts.values()),
            "classes": counts,
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
        "disk": f"decoded once onto disk in {cache.directory}",
        "none": "none (decoded every epoch)",
    }[cache.mode]
