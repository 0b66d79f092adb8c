"""Scanning an image folder: which files are images, of which class, size and mode.

Only the files' headers are read (Pillow opens images lazily), and only files of a size that
another file shares are hashed to find identical ones (`duplicates.file_keys`), so scanning
thousands of photos takes seconds and no memory to speak of. Files that are not images
Pillow can read are skipped and grouped by reason.

The folder's layout (`root/<class>/...`, split folders `root/train|validation|test/<class>/`
in any spelling, links, hidden files) follows the rules of `folders`, which text folders
share.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tfapps.data.duplicates import file_keys
from tfapps.data.folders import FolderLayout, read_layout
from tfapps.data.images import CORRUPT, ImageReadError, is_grayscale, open_image
from tfapps.data.summary import Skipped, count_phrase, skipped_line
from tfapps.errors import InvalidInput

# The input size of the convnet for photos (large or of varied sizes), as in TensorFlow's image
# classification tutorial and keras-io's image_classification_from_scratch (180×180); a
# pretrained backbone takes its own (`tasks.image_backbone.BackboneOptions.model_input`).
PHOTO_SIZE = (180, 180)
# Folders whose most common size is at most this long on its longer side keep that size
# (digits, MNIST-like folders); larger images are photos, fitted to the photo input size.
KEEP_SIZE_UP_TO = 180
FORMATS = "png, jpg, bmp, gif, webp, tif, ..."


@dataclass
class ScannedImage:
    """One image file found by `scan_folder`.

    Args:
        path: the file.
        label: index of its class in the class names.
        size: `(height, width)` as displayed (after the EXIF orientation).
        grayscale: whether its mode holds a single channel.
        split: the split folder it comes from (`"train"`, `"validation"`, `"test"`), or
            `None` when the folder has no split folders.
        key: the file's content key (`duplicates.file_keys`: identical files, equal keys).
    """

    path: Path
    label: int
    size: tuple[int, int]
    grayscale: bool
    split: str | None = None
    key: bytes = b""


@dataclass
class ImageFolder:
    """What `scan_folder` found.

    Args:
        root: the folder.
        class_names: sorted class sub-folder names.
        images: every readable image, in a stable order.
        skipped: files that are not readable images, by reason.
        layout: the folder's layout (split folders, what was left out of it).
    """

    root: Path
    class_names: list[str]
    images: list[ScannedImage]
    skipped: Skipped
    layout: FolderLayout

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
    """Finds the images of `root/<class>/` (or `root/<split>/<class>/`, see `folders`).

    Raises:
        InvalidInput: no class folder holds an image, there is only one class, a class folder
            holds files but no readable image (named), a layout `folders.read_layout`
            refuses.
    """
    layout = read_layout(root, "image", f"root/<class>/*.jpg ({FORMATS})")
    skipped = Skipped()
    images, unreadable, read = [], {}, set()
    labels = {name: index for index, name in enumerate(layout.class_names)}
    for file in layout.files:
        try:
            path, size, gray = _header(file.path)
        except ImageReadError as error:
            skipped.add(error.reason, file.path)
            unreadable.setdefault(file.folder, Skipped()).add(error.reason, file.path)
            continue
        read.add(file.folder)
        images.append(ScannedImage(path, labels[file.label], size, gray, file.split))
    for folder, reasons in unreadable.items():
        if folder not in read:
            files = sum(reasons.counts.values())
            raise InvalidInput(
                f"Class folder {folder} holds {count_phrase(files, 'file')} but no readable "
                f"image ({FORMATS}): {skipped_line(reasons.to_dict(), 'file')}."
            )
    if len(layout.class_names) < 2:
        raise InvalidInput(
            f"Found 1 class ({layout.class_names[0]!r}) under {root}; "
            "image-classify needs at least 2 class sub-folders."
        )
    for image, key in zip(images, file_keys([image.path for image in images]), strict=True):
        image.key = bytes(key)
    return ImageFolder(root, layout.class_names, images, skipped, layout)


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
