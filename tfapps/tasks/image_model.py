"""The classic image classifier: Rescaling → [augmentation] → [Conv2D → MaxPooling2D]×k →
Flatten → Dropout → Dense(softmax), and the choices it makes for its input size.

Preprocessing lives in the model (keras-io `mnist_convnet.py`), so the exported model takes
raw uint8 pixels; its last layer is named `predictions` and computes in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from tfapps.tasks.classifiers import classifier_head

DENSE_UNITS = 128
SMALL_IMAGE = 32  # inputs up to this many pixels on their longer side: filters 32, 64
FEATURE_MAP = 12  # larger inputs: blocks until the feature map is at most this many pixels
WIDEST_BLOCK = 64  # 128 in the 4th block cost 5% of the photos' speed, for 0.01 of accuracy
AUGMENT_FROM = 64  # augmentation is on by default from this many pixels on the shorter side


def auto_filters(input_shape: Sequence[int]) -> tuple[int, ...]:
    """The default Conv2D filters per block for an input size.

    `(32, 64)` for inputs up to `SMALL_IMAGE` pixels on their longer side (8x8 digits,
    28x28 MNIST). Larger inputs get one block per halving of their longer side until the
    feature map is at most `FEATURE_MAP` pixels (at least 2 blocks), with 16 filters in
    the first block, twice as many in each next one, at most `WIDEST_BLOCK`: 180x180 photos
    get 16, 32, 64, 64 (feature map 11x11), as fast as TensorFlow's tutorial model (16, 32,
    64 and a Dense(128)) on 2 CPU cores, where 16, 32, 64, 128 took 5% longer.

    Args:
        input_shape: `(height, width, channels)`.
    """
    height, width = input_shape[:2]
    if max(height, width) <= SMALL_IMAGE:
        return block_filters(32, 2)
    side, blocks = max(height, width), 0
    while side > FEATURE_MAP:
        side, blocks = side // 2, blocks + 1
    return block_filters(16, max(2, blocks))


def block_filters(first: int, blocks: int) -> tuple[int, ...]:
    """Conv2D filters of `blocks` blocks: `first` in the first block, twice as many in each
    next one, at most `WIDEST_BLOCK` (or `first`, when wider): `block_filters(16, 4)` is
    `(16, 32, 64, 64)`, the photos' default (`auto_filters`).

    Args:
        first: filters of the first block.
        blocks: the number of Conv2D → MaxPooling2D blocks.
    """
    return tuple(min(first * 2**block, max(WIDEST_BLOCK, first)) for block in range(blocks))


PHOTO_EPOCHS = 15  # TensorFlow's image classification tutorial trains its flowers 15 epochs
SMALL_IMAGE_EPOCHS = 40


def auto_epochs(input_shape: Sequence[int]) -> int:
    """The default maximum epochs of an image classifier: `SMALL_IMAGE_EPOCHS` (40) for inputs
    up to `SMALL_IMAGE` pixels on their longer side, where an epoch takes a second (digits
    keep improving for 40), and `PHOTO_EPOCHS` (15) for larger ones."""
    return SMALL_IMAGE_EPOCHS if max(input_shape[:2]) <= SMALL_IMAGE else PHOTO_EPOCHS


def auto_augment(input_shape: Sequence[int]) -> bool:
    """Whether augmentation is on by default: for inputs of at least `AUGMENT_FROM` pixels on
    their shorter side (photos), not for smaller ones (a flipped digit is another digit)."""
    return min(input_shape[:2]) >= AUGMENT_FROM


def augmentation(x):
    """RandomFlip("horizontal") → RandomRotation(0.1) → RandomZoom(0.1) of images `x`, as in
    TensorFlow's image classification tutorial; Keras runs these layers only in training."""
    x = layers.RandomFlip("horizontal", name="random_flip")(x)
    x = layers.RandomRotation(0.1, name="random_rotation")(x)
    return layers.RandomZoom(0.1, name="random_zoom")(x)


def build_image_classifier(
    input_shape: Sequence[int],
    num_classes: int,
    filters: Sequence[int] | None = None,
    dropout: float = 0.5,
    architecture: str = "conv",
    augment: bool = False,
    kernel_size: int = 3,
) -> keras.Model:
    """Builds Rescaling → [augmentation] → [Conv2D → MaxPooling2D] × k → Flatten → Dropout →
    Dense(softmax).

    Convolutions use "same" padding and a block pools only while the feature map is at least
    2 pixels wide, so even 8x8 inputs take several blocks. The `"dense"` architecture replaces
    the convolutions with Flatten → Dense(128, relu), for comparison.

    Augmentation is RandomFlip("horizontal") → RandomRotation(0.1) → RandomZoom(0.1), as in
    TensorFlow's image classification tutorial; Keras runs these layers only in training, so
    the model computes the same outputs with or without them at inference.

    Args:
        input_shape: `(height, width, channels)` of the uint8 images.
        num_classes: number of classes of the softmax layer.
        filters: Conv2D filters of each block. Defaults to `auto_filters(input_shape)`.
        dropout: dropout rate before the classifier. Defaults to 0.5.
        architecture: `"conv"` or `"dense"`. Defaults to `"conv"`.
        augment: add the augmentation layers. Defaults to False.
        kernel_size: the side of every Conv2D kernel. Defaults to 3.

    Example:

    >>> model = build_image_classifier((8, 8, 1), 10)
    >>> model.output_shape
    (None, 10)
    """
    inputs = keras.Input(shape=tuple(input_shape), dtype="uint8", name="images")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    if augment:
        x = augmentation(x)
    if architecture == "conv":
        for block, units in enumerate(filters or auto_filters(input_shape), start=1):
            x = layers.Conv2D(
                units, kernel_size, padding="same", activation="relu", name=f"conv{block}"
            )(x)
            if min(x.shape[1], x.shape[2]) >= 2:
                x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
        x = layers.Flatten(name="flatten")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(DENSE_UNITS, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(
        inputs,
        classifier_head(x, num_classes, binary_sigmoid=False),
        name=f"image_{architecture}_classifier",
    )
