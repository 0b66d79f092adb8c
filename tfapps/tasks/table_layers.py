"""Layers of the table classifier that Keras lacks: missing numbers filled in, their
missing-indicators, and periodic embeddings of numbers.

They compute with ops that a SavedModel, an ONNX graph (tf2onnx) and a LiteRT model all
hold, so that every export computes what the SavedModel computes: a missing number is a NaN,
found as `x != x`. `import tfapps.tasks.table_layers` registers them for `model.keras`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfapps", name="FillMissing")
class FillMissing(keras.layers.Layer):
    """Replaces each NaN of column `j` of `[batch, columns]` numbers by `values[j]` (the
    training medians: what `sklearn.impute.SimpleImputer(strategy="median")` does, inside
    the model).

    Args:
        values: one value a column.
    """

    def __init__(self, values: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.values = [float(value) for value in values]

    def call(self, numbers):
        filled = ops.cast(ops.convert_to_tensor(self.values), numbers.dtype)
        return ops.where(ops.not_equal(numbers, numbers), filled, numbers)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package="tfapps", name="MissingIndicator")
class MissingIndicator(keras.layers.Layer):
    """1.0 where a number is missing (NaN), else 0.0, for the chosen columns of
    `[batch, columns]` numbers: `[batch, len(columns)]` (as `sklearn.impute.MissingIndicator`).

    Args:
        columns: the indices of the columns to indicate.
    """

    def __init__(self, columns: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(column) for column in columns]

    def call(self, numbers):
        chosen = ops.take(numbers, self.columns, axis=1)
        return ops.cast(ops.not_equal(chosen, chosen), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.columns))

    def get_config(self) -> dict:
        return {**super().get_config(), "columns": self.columns}


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
