"""Scanning an image folder: which files are images, of which class, size and mode.

Only the files' headers are read (Pillow opens images lazily), so scanning thousands of photos
takes seconds and no memory to speak of. Files that are not images Pillow can read are
skipped and grouped by reason; hidden files (`.DS_Store`, ...) are ignored.

The folder is `root/<class>/...` (files in sub-folders of a class folder count for that class),
or `root/train/<class>/...` with an optional `root/test/<class>/...` when the test split is
given.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tfapps.data.images import CORRUPT, ImageReadError, is_grayscale, open_image
from tfapps.data.summary import count_phrase, skipped_line
from tfapps.errors import InvalidInput

# The input size of the convnet for photos (large or of varied sizes), as in TensorFlow's image
# classification tutorial and keras-io's image_classification_from_scratch (180×180); a
# pretrained backbone takes its own (`tasks.image_backbone.BackboneOptions.model_input`).
PHOTO_SIZE = (180, 180)
# Folders whose most common size is at most this long on its longer side keep that size
# (digits, MNIST-like folders); larger images are photos, fitted to the photo input size.
KEEP_SIZE_UP_TO = 180


@dataclass
class ScannedImage:
    """One image file found by `scan_folder`.

    Args:
        path: the file.
        label: index of its class in the class names.
        size: `(height, width)` as displayed (after the EXIF orientation).
        grayscale: whether its mode holds a single channel.
        given_test: whether it comes from the folder's own `test/` split.
    """

    path: Path
    label: int
    size: tuple[int, int]
    grayscale: bool
    given_test: bool = False


@dataclass
class Skipped:
    """Files left out, grouped by reason: how many, and one example path per reason."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, path: Path) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, str(path))

    def to_dict(self) -> dict[str, dict]:
        """`{reason: {"files": n, "example": path}}` for run.json."""
        return {
            reason: {"files": count, "example": self.examples[reason]}
            for reason, count in self.counts.most_common()
        }


@dataclass
class ImageFolder:
    """What `scan_folder` found.

    Args:
        root: the folder.
        class_names: sorted class sub-folder names.
        images: every readable image, in a stable order.
        skipped: files that are not readable images, by reason.
    """

    root: Path
    class_names: list[str]
    images: list[ScannedImage]
    skipped: Skipped

    @property
    def channels(self) -> int:
        """1 when every image is grayscale, else 3 (RGB)."""
        return 1 if all(image.grayscale for image in self.images) else 3

    def class_counts(self) -> dict[str, int]:
        """Images per class name, in class order."""
        counts = Counter(image.label for image in self.images)
        return {name: counts[index] for index, name in enumerate(self.class_names)}

    def common_size(self) -> tuple[int, int]:
        """The most common `(height, width)` of the images, as displayed."""
        return Counter(image.size for image in self.images).most_common(1)[0][0]


def scan_folder(root: Path) -> ImageFolder:
    """Finds the images of `root/<class>/` (or `root/train|test/<class>/`).

    Raises:
        InvalidInput: no class folder holds an image, there is only one class, a class folder
            holds files but no readable image (named), or `test/` has classes `train/` lacks.
    """
    skipped = Skipped()
    if (root / "train").is_dir():
        class_names, images = _scan_classes(root / "train", None, skipped, given_test=False)
        if (root / "test").is_dir():
            images += _scan_classes(root / "test", class_names, skipped, given_test=True)[1]
    else:
        class_names, images = _scan_classes(root, None, skipped, given_test=False)
    return ImageFolder(root, class_names, images, skipped)


def _scan_classes(folder: Path, class_names, skipped: Skipped, given_test: bool):
    """Scans `folder/<class>/` and returns `(class names, images)`."""
    found: dict[str, list] = {}
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not _hidden(p)):
        files = image_files(class_dir)
        readable, unreadable = [], Skipped()
        for path in files:
            try:
                readable.append(_header(path))
            except ImageReadError as error:
                skipped.add(error.reason, path)
                unreadable.add(error.reason, path)
        if readable:
            found[class_dir.name] = readable
        elif files:
            raise InvalidInput(
                f"Class folder {class_dir} holds {count_phrase(len(files), 'file')} but no "
                f"readable image (png, jpg, bmp, gif, webp, tif, ...): "
                f"{skipped_line(unreadable.to_dict(), 'file')}."
            )
    if class_names is None:
        class_names = sorted(found)
        if not class_names:
            raise InvalidInput(
                f"No images found under {folder}; expected a folder root/<class>/*.jpg (png, "
                "bmp, gif, webp, tif, ...) with one sub-folder a class."
            )
        if len(class_names) < 2:
            raise InvalidInput(
                f"Found 1 class ({class_names[0]!r}) under {folder}; "
                "image-classify needs at least 2 class sub-folders."
            )
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise InvalidInput(
            f"Class folders {unknown} under {folder} do not appear in the "
            f"training classes {class_names}."
        )
    images = [
        ScannedImage(path, class_names.index(name), size, gray, given_test)
        for name, headers in found.items()
        for path, size, gray in headers
    ]
    return class_names, images


def _header(path: Path) -> tuple[Path, tuple[int, int], bool]:
    """`(path, (height, width) as displayed, grayscale)` from the file's header."""
    with open_image(path) as image:
        width, height = image.size
        try:  # a PNG may keep its EXIF after the pixels: a file cut short fails here
            rotated = image.getexif().get(EXIF_ORIENTATION, 1) in ROTATED_ORIENTATIONS
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageReadError(path, CORRUPT, str(error)) from None
        if rotated:
            width, height = height, width
        return path, (height, width), is_grayscale(image.mode)


EXIF_ORIENTATION = 0x0112
ROTATED_ORIENTATIONS = (5, 6, 7, 8)  # a quarter turn: width and height swap


def image_files(folder: Path) -> list[Path]:
    """Every non-hidden file under `folder` (sub-folders too), sorted: the files a folder
    contributes, whatever their suffix; each is then read or skipped by its content."""
    return sorted(_files(folder))


def _files(folder: Path) -> Iterator[Path]:
    for directory, subfolders, names in os.walk(folder):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            if not name.startswith("."):
                yield Path(directory) / name


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")
