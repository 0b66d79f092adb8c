"""The classic Keras architectures, built with the functional API, preprocessing inside.

Because preprocessing lives in the model, the exported model eats raw input. Each model's last
layer is named `predictions` and computes in float32, so mixed precision stays numerically safe.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def build_image_classifier(
    input_shape: Sequence[int],
    num_classes: int,
    filters: Sequence[int] = (32, 64),
    dropout: float = 0.5,
) -> keras.Model:
    """Builds Rescaling → [Conv2D → MaxPooling2D] × k → Flatten → Dropout → Dense(softmax).

    Convolutions use "same" padding and a block pools only while the feature map is at least
    2 pixels wide, so even 8x8 inputs take several blocks.

    Args:
        input_shape: `(height, width, channels)` of the uint8 images.
        num_classes: number of classes of the softmax layer.
        filters: Conv2D filters of each block. Defaults to `(32, 64)`.
        dropout: dropout rate before the classifier. Defaults to 0.5.

    Example:

    >>> model = build_image_classifier((8, 8, 1), 10)
    >>> model.output_shape
    (None, 10)
    """
    inputs = keras.Input(shape=tuple(input_shape), dtype="uint8", name="images")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for block, units in enumerate(filters, start=1):
        x = layers.Conv2D(units, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(
        x
    )
    return keras.Model(inputs, outputs, name="image_classifier")
