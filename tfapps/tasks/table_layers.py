"""The layers of a table model that Keras does not have, so that the SavedModel computes what
tfapps computes to a raw value: the spaces around a category stripped (`StripSpaces`), a
missing number replaced by the training median (`FillMissing`), and a target fitted as
`log1p` predicted in its units (`Expm1`).

`import tfapps.tasks.table_layers` registers them (`TableTask.load_model` does), so a table
model.keras loads in Keras' safe mode.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tfapps", name="StripSpaces")
class StripSpaces(keras.layers.Layer):
    """Removes the ASCII whitespace (space, tab, line feed, carriage return, vertical tab,
    form feed) around each string, as `tf.strings.strip` does; nothing else changes.

    Input and output: `tf.string` tensors of the same shape.
    """

    def call(self, inputs):
        import tensorflow as tf

        return tf.strings.strip(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="tfapps", name="FillMissing")
class FillMissing(keras.layers.Layer):
    """Replaces NaN (a missing number) by `value`, the column's training median.

    Args:
        value: the number a missing value becomes.
        **kwargs: `keras.layers.Layer` arguments (`name`, ...).

    Input and output: float32 tensors of the same shape.
    """

    def __init__(self, value: float, **kwargs):
        super().__init__(**kwargs)
        self.value = float(value)

    def call(self, inputs):
        return keras.ops.where(keras.ops.isnan(inputs), self.value, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "value": self.value}


@keras.saving.register_keras_serializable(package="tfapps", name="Expm1")
class Expm1(keras.layers.Layer):
    """`exp(x) - 1`, the inverse of `log1p`: a regressor fitted to `log1p(y)` outputs `y`.

    Computed as `exp(x) - 1`, ops that every export format has (ONNX has no Expm1); for the
    outputs of 1e-3 and more that a log target is chosen for, float32 holds it as closely.

    Input and output: float32 tensors of the same shape.
    """

    def call(self, inputs):
        return keras.ops.exp(inputs) - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape
