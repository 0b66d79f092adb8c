"""Image-classification splits: TFDS datasets with (image, label) keys, and local image folders.

A local folder is read by `image_decoding` (its headers scanned, every image decoded at the
model's input size in parallel threads, kept in memory or on disk, or read every epoch);
this module turns what it read into tf.data datasets. Unreadable files are skipped and
reported; splits are stratified by class.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.data.image_decoding import ImageReader, decode_folder
from tfapps.data.images import fit_array
from tfapps.data.info import SPLIT_NAMES, CachePlan, DatasetInfo
from tfapps.data.specs import ImageSpec
from tfapps.data.splits import Splits
from tfapps.data.summary import class_counts, tfds_classes_summary
from tfapps.data.tfds_source import read_classified_splits, tfds_origin
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    from tfapps.tasks.image import ImageClassifyConfig

log = logging.getLogger("tfapps")

GATHER_BATCH = 64  # decoded images handed to tf.data per call


def from_tfds(
    builder: tfds.core.DatasetBuilder, source: str, config: ImageClassifyConfig
) -> Splits:
    """Reads an image-classification TFDS dataset with `(image, label)` supervised keys.

    Images are fitted by `config.resize` to the model's input size
    (`BackboneOptions.model_input`: `--image-size`, else the backbone's, else their own up to
    `KEEP_SIZE_UP_TO` pixels and `PHOTO_SIZE` for larger or varied ones).

    Args:
        builder: a prepared TFDS builder.
        source: `"embedded"` or `"catalog"`, recorded in the dataset info.
        config: the run's options (dataset name, validation split, image size, resize rule).
    """
    image_feature, label_feature = _supervised_features(builder, config.dataset)
    shape = list(image_feature.shape)
    own_size = None if None in shape[:2] else tuple(shape[:2])
    size, backbone = config.model_input(own_size)
    shape[:2] = size
    carved = read_classified_splits(builder, config.validation_split)
    train, validation, test = carved.datasets
    if tuple(shape) != tuple(image_feature.shape):
        train, validation, test = (
            _resized(ds, shape[:2], config.resize) for ds in (train, validation, test)
        )
    class_names = list(label_feature.names)
    counts = class_counts(class_names, carved.train_labels)
    read = f"TFDS {builder.name} {builder.version}"
    too_small = [class_names[i] for i in carved.too_small]
    summary = tfds_classes_summary(read, counts, too_small, "image")
    carved.summarize(summary, "image")
    summary.lines.append(f"model input {'x'.join(map(str, shape))} (resize {config.resize})")
    note = config.model_note(own_size, backbone)
    summary.lines += [note] if note else []
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        origin=tfds_origin(builder),
        class_names=class_names,
        train_class_counts=counts,
        spec=ImageSpec(input_shape=shape, resize=config.resize, backbone=backbone),
        summary=summary,
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
    """Fits every image to `size` with the one image reader's rule (`images.fit_array`,
    Pillow), as `tfapps predict` and `tfapps serve` fit an image file."""
    channels = dataset.element_spec[0].shape[-1]

    def fit(image, label):
        fitted = tf.numpy_function(
            lambda pixels: fit_array(pixels, size, resize), [image], tf.uint8, stateful=False
        )
        return tf.ensure_shape(fitted, (*size, channels)), label

    return dataset.map(fit, num_parallel_calls=tf.data.AUTOTUNE)


def from_folder(root: Path, config: ImageClassifyConfig) -> Splits:
    """Stratified splits of a local image folder, reproducibly by `config.seed`.

    Args:
        root: the folder given as `--dataset`.
        config: the run's options (seed, validation split, image size, resize rule, quiet).

    Raises:
        InvalidInput: no images, a single class, a class left without any readable image.
    """
    decoded = decode_folder(root, config)
    datasets = {}
    for split in SPLIT_NAMES:
        labels = decoded.labels[decoded.rows[split]]
        if split in decoded.arrays:
            # In memory, the training images come in a new order every epoch; on disk, in the
            # seeded order they were written (reads stay sequential), mixed by the pipeline's
            # shuffle buffer.
            in_memory = decoded.cache.mode == "memory"
            seed = config.seed if split == "train" and in_memory else None
            datasets[split] = _from_arrays(decoded.arrays[split], labels, seed)
        else:
            paths = decoded.paths[decoded.rows[split]]
            datasets[split] = _streamed(paths, labels, decoded.reader)
    plan = CachePlan("none") if decoded.cache.mode == "memory" else decoded.cache  # decoded
    return Splits(*(datasets[name] for name in SPLIT_NAMES), decoded.info, cache=plan)


def _from_arrays(images: np.ndarray, labels: np.ndarray, shuffle_seed: int | None):
    """Examples from decoded arrays, in memory or memory-mapped, which stay NumPy's (a tensor
    would be a second copy); with `shuffle_seed`, in a new random order every epoch (only the
    indices are shuffled)."""
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


def _streamed(paths: np.ndarray, labels: np.ndarray, reader: ImageReader) -> tf.data.Dataset:
    """Reads each image when the pipeline asks for it, every epoch (for folders that fit
    neither in memory nor on disk)."""
    shape = (*reader.size, reader.channels)

    def load(path, label):
        image = tf.numpy_function(lambda p: reader.read(p.decode()), [path], tf.uint8)
        return tf.ensure_shape(image, shape), label

    dataset = tf.data.Dataset.from_tensor_slices((paths.astype(str), labels))
    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
