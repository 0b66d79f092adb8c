"""Image-classification data: TFDS datasets with (image, label) keys and local image folders.

A local folder is laid out as `root/<class>/*.png|jpg|jpeg`, or with `root/train/<class>/...`
and `root/test/<class>/...` when the split is already made. Class names are the sorted
sub-folder names. Every image is converted to one channel count (grayscale when all images are
grayscale, RGB otherwise) and one size (`--image-size`, else the most common size).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.config import ImageConfig
from tfapps.data.info import DatasetInfo
from tfapps.data.splits import SPLIT_NAMES, Splits, carve_local_splits
from tfapps.data.tfds_source import read_splits
from tfapps.errors import InvalidInput

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GRAYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "F")


def from_tfds(builder: tfds.core.DatasetBuilder, source: str, config: ImageConfig) -> Splits:
    """Reads an image-classification TFDS dataset with `(image, label)` supervised keys.

    Args:
        builder: a prepared TFDS builder.
        source: `"embedded"` or `"catalog"`, recorded in the dataset info.
        config: the run's options (dataset name, validation split, image size).
    """
    image_feature, label_feature = _supervised_features(builder, config.dataset)
    shape = list(image_feature.shape)
    if config.image_size is not None:
        shape[:2] = config.image_size
    if None in shape[:2]:
        raise InvalidInput(
            f"Images of {config.dataset!r} vary in size; pass --image-size "
            "HEIGHTxWIDTH (for example 128x128)."
        )
    train, validation, test = read_splits(builder, config.validation_split)
    if tuple(shape) != tuple(image_feature.shape):
        train, validation, test = (_resized(ds, shape[:2]) for ds in (train, validation, test))
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        class_names=list(label_feature.names),
        input_shape=shape,
        details={
            "tfds_name": builder.name,
            "tfds_version": str(builder.version),
            "homepage": builder.info.homepage,
        },
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


def _resized(dataset: tf.data.Dataset, size) -> tf.data.Dataset:
    def resize(image, label):
        image = tf.image.resize(image, size, antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), label

    return dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE)


def from_folder(root: Path, config: ImageConfig) -> Splits:
    """Reads a local image folder into memory and splits it reproducibly by `config.seed`.

    Args:
        root: the folder given as `--dataset`.
        config: the run's options (seed, validation split, image size).
    """
    if (root / "train").is_dir():
        train_files, class_names = _scan(root / "train")
        test_files = _scan(root / "test", class_names)[0] if (root / "test").is_dir() else None
    else:
        train_files, class_names = _scan(root)
        test_files = None
    images, labels, details = _read_images(train_files + (test_files or []), config.image_size)
    rows = carve_local_splits(
        len(images), config.seed, config.validation_split, given_test=len(test_files or [])
    )

    def subset(index):
        return tf.data.Dataset.from_tensor_slices((images[index], labels[index]))

    info = DatasetInfo(
        name=config.dataset,
        source="local",
        class_names=class_names,
        input_shape=list(images.shape[1:]),
        details=details,
    )
    return Splits(*(subset(rows[name]) for name in SPLIT_NAMES), info)


def _scan(folder: Path, class_names: list[str] | None = None):
    """Lists `(path, label index)` for every image under `folder/<class>/`."""
    found = {
        sub.name: sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        for sub in sorted(folder.iterdir())
        if sub.is_dir()
    }
    found = {name: files for name, files in found.items() if files}
    if class_names is None:
        class_names = sorted(found)
        if not class_names:
            raise InvalidInput(
                f"No images ({', '.join(IMAGE_SUFFIXES)}) found under {folder}; "
                "expected a folder root/<class>/*.png with one sub-folder a class."
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
    files = [(path, class_names.index(name)) for name, paths in found.items() for path in paths]
    return files, class_names


def decode_image(path: Path):
    """Opens and fully decodes one image file with Pillow, or raises `InvalidInput` naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise InvalidInput(f"Cannot read image {path}: {error}") from None


def image_array(image, channels: int, size: tuple[int, int]) -> np.ndarray:
    """Converts a Pillow image to uint8 `[height, width, channels]` (1 = grayscale, 3 = RGB)."""
    from PIL import Image

    height, width = size
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8).reshape(height, width, channels)


def _read_images(files, image_size):
    """Decodes, converts and resizes every image; returns `(images, labels, details)`."""
    decoded = [decode_image(path) for path, _ in files]
    channels = 1 if all(image.mode in GRAYSCALE_MODES for image in decoded) else 3
    sizes = Counter((image.height, image.width) for image in decoded)
    size = tuple(image_size or sizes.most_common(1)[0][0])
    details = {
        "channels": channels,
        "image_size": list(size),
        "resized": sum(n for shape, n in sizes.items() if shape != size),
    }
    labels = np.array([label for _, label in files], dtype=np.int64)
    return np.stack([image_array(image, channels, size) for image in decoded]), labels, details
