"""The layers of a table model that Keras does not have, so that the SavedModel computes what
tfapps computes to a raw value: the spaces around a category stripped (`StripSpaces`), a
missing number replaced by the training median (`FillMissing`), and a target fitted as
`log1p` predicted in its units (`Expm1`); and the table classifier's missing-indicators
(`MissingIndicator`) and periodic embeddings of numbers (`PeriodicEmbedding`).

They compute with ops that a SavedModel, an ONNX graph (tf2onnx) and a LiteRT model all hold
(`StripSpaces` aside, which the encoded parts leave out), so every export computes what the
SavedModel computes. `import tfapps.tasks.table_layers` registers them
(`TableTask.load_model` does), so a table model.keras loads in Keras' safe mode.
"""

from __future__ import annotations

import math

import keras
from keras import ops


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


@keras.saving.register_keras_serializable(package="tfapps", name="MissingIndicator")
class MissingIndicator(keras.layers.Layer):
    """1.0 where a number is missing (NaN), else 0.0 (as `sklearn.impute.MissingIndicator`
    does for one column).

    Input: float32 `[batch]`; output: `[batch, 1]`, to concatenate with other features.
    """

    def call(self, numbers):
        return ops.cast(ops.isnan(ops.expand_dims(numbers, -1)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1)


@keras.saving.register_keras_serializable(package="tfapps", name="PeriodicEmbedding")
class PeriodicEmbedding(keras.layers.Layer):
    """Embeds each of `[batch, n]` normalized numbers as `ReLU(W_j [sin(2π c_j x_j),
    cos(2π c_j x_j)] + b_j)`, `[batch, n * units]`, with trainable frequencies `c_j` and
    weights per column: the "PLR" embedding of Gorishniy, Rubachev and Babenko, "On
    Embeddings for Numerical Features in Tabular Deep Learning" (NeurIPS 2022), with which an
    MLP scores close to gradient boosting on tables such as UCI Adult.

    Args:
        frequencies: frequencies `c_j` per column. Defaults to 16.
        units: outputs per column. Defaults to 8.
        sigma: standard deviation of the frequencies' normal initialization (the paper's
            σ; larger values fit finer detail of a number). Defaults to 0.1.
    """

    def __init__(self, frequencies: int = 16, units: int = 8, sigma: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.frequencies, self.units, self.sigma = int(frequencies), int(units), float(sigma)

    def build(self, input_shape):
        columns = input_shape[-1]
        self.coefficients = self.add_weight(
            shape=(columns, self.frequencies),
            initializer=keras.initializers.RandomNormal(0.0, self.sigma),
            name="frequencies",
        )
        self.kernel = self.add_weight(
            shape=(columns, 2 * self.frequencies, self.units),
            initializer="glorot_uniform",
            name="kernel",
        )
        self.bias = self.add_weight(shape=(columns, self.units), initializer="zeros", name="bias")

    def call(self, numbers):
        angles = 2 * math.pi * ops.expand_dims(numbers, -1) * self.coefficients
        periodic = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
        embedded = ops.relu(ops.einsum("bnf,nfu->bnu", periodic, self.kernel) + self.bias)
        return ops.reshape(embedded, (-1, numbers.shape[-1] * self.units))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] * self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "frequencies": self.frequencies,
            "units": self.units,
            "sigma": self.sigma,
        }
