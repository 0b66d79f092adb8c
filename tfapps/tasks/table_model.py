"""Table models: the encoded, normalized columns every table model starts with
(`encoded_features`), the classic regressor on top of them (Dense(relu) ×n → Dense(1)), and
the part of a table model that ONNX holds (`encoded_part`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import layers

from tfapps.data.specs import CATEGORICAL

if TYPE_CHECKING:
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord

# A target is standardized inside the model when its training mean or standard deviation is
# larger than this: the plain Dense(1) head, starting near 0 and moved by Adam about 1e-3 a
# step, reaches targets such as Auto MPG's (mean 23) and diabetes' (mean 152) within its
# epochs, but not prices near 1,000,000 (it ended worse than predicting the mean).
TARGET_SCALE_ABOVE = 1000.0


def target_scaling(train_targets: np.ndarray) -> tuple[float, float] | None:
    """`(mean, standard deviation)` of the training targets when either is beyond
    `TARGET_SCALE_ABOVE` (1,000) in magnitude, else `None` (the model predicts the target
    as it is)."""
    mean, std = float(np.mean(train_targets)), float(np.std(train_targets))
    if max(abs(mean), std) <= TARGET_SCALE_ABOVE:
        return None
    return mean, std if std > 0 else 1.0


def encoded_features(
    train_features: dict[str, np.ndarray], categorical: Sequence[str] = ()
) -> tuple[dict[str, keras.KerasTensor], keras.KerasTensor]:
    """One named input per column → StringLookup(one-hot) for categorical columns →
    Concatenate → Normalization: the front every table model shares.

    Every encoded column, numeric and one-hot alike, is scaled to the training split's mean
    and variance (as TensorFlow's regression tutorial does; on Auto MPG, unscaled one-hot
    columns gave a worse test MAE). A column constant in training (such as the
    out-of-vocabulary one) is only centred, so an unseen category cannot blow up. The layer
    names (`<input>_lookup`, `<input>_column`, `features`, `normalization`) are what
    `encoded_part` reads.

    Args:
        train_features: input name to the training split's values (float32 for numeric
            columns, strings for categorical ones).
        categorical: input names of the categorical columns. Defaults to none.

    Returns:
        `(the model's inputs by name, the normalized features, float32 [batch, width])`.
    """
    inputs = {
        name: keras.Input(shape=(), dtype="string" if name in categorical else "float32", name=name)
        for name in train_features
    }
    encoders = {}
    for name in train_features:
        if name in categorical:
            lookup = layers.StringLookup(output_mode="one_hot", name=f"{name}_lookup")
            lookup.adapt(train_features[name])
            encoders[name] = lookup
        else:
            encoders[name] = layers.Reshape((1,), name=f"{name}_column")

    def encode(columns):
        encoded = [encoders[name](columns[name]) for name in train_features]
        return layers.Concatenate(name="features")(encoded) if len(encoded) > 1 else encoded[0]

    train_matrix = keras.ops.convert_to_numpy(
        encode({name: keras.ops.convert_to_tensor(v) for name, v in train_features.items()})
    )
    variance = train_matrix.var(axis=0)
    normalization = layers.Normalization(
        mean=train_matrix.mean(axis=0),
        variance=np.where(variance > 0, variance, 1.0),
        name="normalization",
    )
    return inputs, normalization(encode(inputs))


def build_regressor(
    train_features: dict[str, np.ndarray],
    categorical: Sequence[str] = (),
    hidden_units: Sequence[int] = (64, 64),
    target_scale: tuple[float, float] | None = None,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> keras.Model:
    """Builds `encoded_features` → `hidden_layers` → Dense(1) [→ Rescaling].

    Args:
        train_features: input name to the training split's values (float32 for numeric
            columns, strings for categorical ones).
        categorical: input names of the categorical columns. Defaults to none.
        hidden_units: units of each hidden Dense(relu) layer. Defaults to `(64, 64)`.
        target_scale: `(mean, std)` of the training targets (`target_scaling`); when given,
            Dense(1) predicts the standardized target and a Rescaling layer maps it back
            (`y = z * std + mean`), so the model still outputs the target in its units.
            Defaults to `None` (no Rescaling).
        dropout: dropout rate after each hidden layer. Defaults to 0 (no Dropout layers).
        batch_norm: batch normalization in each hidden layer. Defaults to False.
    """
    inputs, x = encoded_features(train_features, categorical)
    x = hidden_layers(x, hidden_units, dropout, batch_norm)
    if target_scale is None:
        outputs = layers.Dense(1, dtype="float32", name="predictions")(x)
    else:
        mean, std = target_scale
        x = layers.Dense(1, dtype="float32", name="standardized")(x)
        outputs = layers.Rescaling(std, offset=mean, dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="regressor")


def hidden_layers(x, hidden_units: Sequence[int], dropout: float = 0.0, batch_norm: bool = False):
    """Dense(relu) × n on the encoded features; with `batch_norm`, each as Dense (without
    bias) → BatchNormalization → ReLU, as Ioffe and Szegedy (2015) place it before the
    nonlinearity; with `dropout`, a Dropout layer after each.

    Args:
        x: the encoded features.
        hidden_units: units of each hidden layer.
        dropout: dropout rate after each hidden layer. Defaults to 0 (no Dropout layers).
        batch_norm: batch normalization in each hidden layer. Defaults to False.
    """
    for index, units in enumerate(hidden_units, start=1):
        if batch_norm:
            x = layers.Dense(units, use_bias=False, name=f"dense{index}")(x)
            x = layers.BatchNormalization(name=f"batch_norm{index}")(x)
            x = layers.ReLU(name=f"relu{index}")(x)
        else:
            x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{index}")(x)
    return x


def encoded_part(model: keras.Model, record: RunRecord, classifier: bool) -> Part:
    """A table model for ONNX, whose graphs hold no StringLookup: the model after its lookup
    layers (categorical columns one-hot), with its Normalization as an equal Dense layer
    (`_as_dense`); `categories.json` and `preprocessing.txt` say how to encode a row.

    Args:
        model: the run's table model (built on `encoded_features`).
        record: the run's record (its `TableSchema`).
        classifier: whether the model outputs class probabilities.
    """
    import tensorflow as tf

    from tfapps.export_parts import RAW, Part, copy_layer

    # The order the model concatenates its columns in: the schema's, which run.json keeps
    # (`encoded_features` encodes them in that order).
    schema = record.dataset.spec
    names = [column.input for column in schema.columns]
    categorical = [column.input for column in schema.columns if column.kind == CATEGORICAL]
    lookups = {name: model.get_layer(f"{name}_lookup") for name in categorical}
    inputs, encoded = {}, []
    for name in names:
        if name in lookups:
            size = lookups[name].vocabulary_size()
            inputs[name] = keras.Input(shape=(size,), dtype="float32", name=name)
            encoded.append(inputs[name])
        else:
            inputs[name] = keras.Input(shape=(), dtype="float32", name=name)
            encoded.append(copy_layer(model.get_layer(f"{name}_column"), inputs[name]))
    x = copy_layer(model.get_layer("features"), encoded) if len(encoded) > 1 else encoded[0]
    normalization = model.get_layer("normalization")
    x = _as_dense(normalization, x)
    for layer in model.layers[model.layers.index(normalization) + 1 :]:  # Dense, predictions
        x = copy_layer(layer, x)
    encoded_model = keras.Model(inputs, x, name="encoded_model")
    categories = {name: lookup.get_vocabulary() for name, lookup in lookups.items()}
    signature = [
        {
            name: tf.TensorSpec(
                (None, lookups[name].vocabulary_size()) if name in lookups else (None,),
                tf.float32,
                name=name,
            )
            for name in names
        }
    ]

    def encode(columns: dict) -> dict[str, np.ndarray]:
        return {
            name: (
                lookups[name](tf.constant(columns[name])).numpy().astype(np.float32)
                if name in lookups
                else np.asarray(columns[name], np.float32)
            )
            for name in names
        }

    if not categorical:  # every column is a number: the model takes raw input after all
        return Part(encoded_model, signature, "model", RAW, encode, classifier)
    note = (
        "encoded_model takes each numeric column as float32 [batch] and each categorical "
        "column one-hot encoded, float32 [batch, categories]: position i is 1 for the i-th "
        "category of the column in categories.json, position 0 for any category not there "
        "(the out-of-vocabulary slot, '[UNK]'). Categories are the strings tfapps looks up: "
        "surrounding spaces removed, whole numbers without '.0', missing values as ''. "
        "Missing numbers are the training medians in run.json (dataset.spec.columns).\n"
    )
    return Part(
        model=encoded_model,
        signature=signature,
        stem="encoded_model",
        takes="numeric columns, and categorical ones one-hot (see preprocessing.txt)",
        encode=encode,
        classifier=classifier,
        notes={
            "categories.json": json.dumps(categories, indent=2, ensure_ascii=False) + "\n",
            "preprocessing.txt": note,
        },
    )


def _as_dense(normalization: keras.layers.Normalization, inputs):
    """Normalization as the Dense layer that computes it exactly, `(x - mean) / std` with a
    diagonal kernel of `1 / std` and a bias of `-mean / std` (std = max(sqrt(variance),
    epsilon), as Keras computes it): Keras' ONNX exporter would make the mean and variance
    inputs of the graph, a Dense layer's weights it keeps."""
    mean = keras.ops.convert_to_numpy(normalization.mean).reshape(-1)
    variance = keras.ops.convert_to_numpy(normalization.variance).reshape(-1)
    scale = 1 / np.maximum(np.sqrt(variance), keras.config.epsilon())
    dense = keras.layers.Dense(len(mean), name="normalization")
    outputs = dense(inputs)
    dense.set_weights([np.diag(scale).astype(np.float32), (-mean * scale).astype(np.float32)])
    return outputs
