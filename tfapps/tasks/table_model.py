"""Table models: the encoded, normalized columns every table model starts with
(`encoded_features`), the classic regressor on top of them (Dense(relu) ×n → Dense(1), and
`predicting_expm1` for a target fitted as log1p), and the part of a table model that ONNX
and LiteRT hold (`encoded_part`, with its note).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import layers

from tfapps.data.specs import CATEGORICAL, ColumnSpec
from tfapps.tasks.regression_targets import robust_center_and_spread
from tfapps.tasks.table_layers import Expm1, FillMissing, StripSpaces

if TYPE_CHECKING:
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord

# The ASCII whitespace `tf.strings.strip` removes (`table_layers.StripSpaces`), in words.
SPACE_NAMES = ("space", "tab", "line feed", "carriage return", "vertical tab", "form feed")

# How a category's position in categories.json is found, for the preprocessing.txt of every
# table model's encoded part (`StripSpaces`, then `StringLookup`, done by hand).
CATEGORY_LOOKUP = (
    "take the value as written (a missing value is the empty string), remove the ASCII "
    f"whitespace around it ({', '.join(SPACE_NAMES)}), and find it in the column's list in "
    "categories.json, counting from 0. A value not in the list is at position 0 (the first "
    "entry, '[UNK]', stands for every value not seen in training). Nothing else changes a "
    "value: '0042' and '42', '1E3' and '1000', 'NA' and '', 'a' and 'A' are different "
    "categories."
)

# A target is standardized inside the model when its training median or spread is larger
# than this: the plain Dense(1) head, starting near 0 and moved by Adam about 1e-3 a step,
# reaches targets such as Auto MPG's (median 23) and diabetes' (median 140) within its epochs,
# but not prices near 1,000,000 (it ended worse than predicting the mean).
TARGET_SCALE_ABOVE = 1000.0


def target_scaling(train_targets: np.ndarray) -> tuple[float, float] | None:
    """`(center, scale)` of the training targets when either is beyond `TARGET_SCALE_ABOVE`
    (1,000) in magnitude, else `None` (the model predicts the target as it is).

    Both are robust (`regression_targets.robust_center_and_spread`: the median, and the
    MAD scaled to a standard deviation; the standard deviation, or 1, where the MAD is 0),
    so two prices typed with three extra zeros do not squeeze the others into a sliver of
    the head's range.
    """
    center, scale = robust_center_and_spread(np.asarray(train_targets, np.float64))
    scale = scale or float(np.std(train_targets)) or 1.0
    if max(abs(center), scale) <= TARGET_SCALE_ABOVE:
        return None
    return center, scale


def encoded_features(
    train_features: dict[str, np.ndarray],
    categorical: Sequence[str] = (),
    medians: Mapping[str, float] | None = None,
) -> tuple[dict[str, keras.KerasTensor], keras.KerasTensor]:
    """One named input per column → StripSpaces → StringLookup(one-hot) for categorical
    columns, FillMissing for numeric ones → Concatenate → Normalization: the front every
    table model shares.

    What tfapps does to a raw value happens here, so a `serving_default` caller sending a
    file's cells gets tfapps' prediction: a category is looked up as written but for the
    ASCII spaces around it, and a missing number (NaN) becomes the training median.

    Every encoded column, numeric and one-hot alike, is scaled to the training split's mean
    and variance (as TensorFlow's regression tutorial does; on Auto MPG, unscaled one-hot
    columns gave a worse test MAE). A column constant in training (such as the
    out-of-vocabulary one) is only centred, so an unseen category cannot blow up. The layer
    names (`<input>_lookup`, `<input>_missing`, `<input>_column`, `features`,
    `normalization`) are what `encoded_part` reads.

    Args:
        train_features: input name to the training split's values (float32 for numeric
            columns, NaN where missing; strings for categorical ones).
        categorical: input names of the categorical columns. Defaults to none.
        medians: input name to the training median of each numeric column (run.json's
            `ColumnSpec.median`). Defaults to the median of `train_features`' numbers.

    Returns:
        `(the model's inputs by name, the normalized features, float32 [batch, width])`.
    """
    inputs = {
        name: keras.Input(shape=(), dtype="string" if name in categorical else "float32", name=name)
        for name in train_features
    }
    medians = medians or {}
    encoders = {}
    for name, values in train_features.items():
        if name in categorical:
            strip = StripSpaces(name=f"{name}_strip")
            categories = strip(keras.ops.convert_to_tensor(values))
            lookup = category_lookup(categories, "one_hot", name=f"{name}_lookup")
            encoders[name] = [strip, lookup]
        else:
            median = medians.get(name, np.nanmedian(np.asarray(values, np.float64)))
            encoders[name] = [
                FillMissing(median, name=f"{name}_missing"),
                layers.Reshape((1,), name=f"{name}_column"),
            ]

    def encode(columns):
        encoded = []
        for name in train_features:
            x = columns[name]
            for layer in encoders[name]:
                x = layer(x)
            encoded.append(x)
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


def category_lookup(categories, output_mode: str, name: str) -> layers.StringLookup:
    """The StringLookup of a categorical column, its vocabulary (the training categories, most
    frequent first, after the out-of-vocabulary '[UNK]') held in its config.

    An adapted StringLookup writes its vocabulary to model.keras as lines joined by line
    feeds, and Keras 3.15 reads back one entry fewer when the last one is the empty string
    (a missing category, when it is the rarest): the model would not load. A vocabulary
    given to the layer is saved in its config instead, where any string keeps.

    Args:
        categories: the training split's categories, `tf.string` `[rows]`.
        output_mode: `"one_hot"` or `"int"` (`keras.layers.StringLookup`).
        name: the layer's name.
    """
    adapted = layers.StringLookup()
    adapted.adapt(categories)
    vocabulary = [str(value) for value in adapted.get_vocabulary(include_special_tokens=False)]
    return layers.StringLookup(vocabulary=vocabulary, output_mode=output_mode, name=name)


def build_regressor(
    train_features: dict[str, np.ndarray],
    categorical: Sequence[str] = (),
    hidden_units: Sequence[int] = (64, 64),
    target_scale: tuple[float, float] | None = None,
    medians: Mapping[str, float] | None = None,
    output_name: str = "predictions",
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> keras.Model:
    """Builds `encoded_features` → `hidden_layers` → Dense(1) [→ Rescaling].

    Args:
        train_features: input name to the training split's values (float32 for numeric
            columns, NaN where missing; strings for categorical ones).
        categorical: input names of the categorical columns. Defaults to none.
        hidden_units: units of each hidden Dense(relu) layer. Defaults to `(64, 64)`.
        target_scale: `(center, scale)` of the training targets (`target_scaling`); when
            given, Dense(1) predicts the standardized target and a Rescaling layer maps it
            back (`y = z * scale + center`), so the model still outputs the target in its
            units. Defaults to `None` (no Rescaling).
        medians: the numeric columns' training medians (`encoded_features`). Defaults to
            the medians of `train_features`.
        output_name: the output layer's name. Defaults to `"predictions"`.
        dropout: dropout rate after each hidden layer. Defaults to 0 (no Dropout layers).
        batch_norm: batch normalization in each hidden layer. Defaults to False.
    """
    inputs, x = encoded_features(train_features, categorical, medians)
    x = hidden_layers(x, hidden_units, dropout, batch_norm)
    if target_scale is None:
        outputs = layers.Dense(1, dtype="float32", name=output_name)(x)
    else:
        center, scale = target_scale
        x = layers.Dense(1, dtype="float32", name="standardized")(x)
        outputs = layers.Rescaling(scale, offset=center, dtype="float32", name=output_name)(x)
    return keras.Model(inputs, outputs, name="regressor")


def predicting_expm1(model: keras.Model) -> keras.Model:
    """The model that serves a regressor fitted to `log1p(y)`: its output through `Expm1`
    (named `predictions`), so it predicts `y`; the layers are shared."""
    outputs = Expm1(dtype="float32", name="predictions")(model.output)
    return keras.Model(model.input, outputs, name="regressor")


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
    """A table model for ONNX and LiteRT, which hold no string ops (ONNX no StringLookup,
    LiteRT no `tf.strings.strip`): the model after its lookup layers (categorical columns
    one-hot), with its Normalization as an equal Dense layer (`normalization_as_dense`);
    `categories.json` and `preprocessing.txt` (`encoding_note`) say how to encode a row, and
    tests/test_table_preprocessing.py does what they say. A model of numeric columns only is
    the whole model.

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
            filled = copy_layer(model.get_layer(f"{name}_missing"), inputs[name])
            encoded.append(copy_layer(model.get_layer(f"{name}_column"), filled))
    x = copy_layer(model.get_layer("features"), encoded) if len(encoded) > 1 else encoded[0]
    normalization = model.get_layer("normalization")
    x = normalization_as_dense(normalization)(x)
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
        strip = {name: model.get_layer(f"{name}_strip") for name in lookups}
        return {
            name: (
                lookups[name](strip[name](tf.constant(columns[name]))).numpy().astype(np.float32)
                if name in lookups
                else np.asarray(columns[name], np.float32)
            )
            for name in names
        }

    if not categorical:  # every column is a number: the model takes raw input after all
        return Part(encoded_model, signature, "model", RAW, encode, classifier)
    note = encoding_note(schema.columns, {name: len(v) for name, v in categories.items()})
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


def encoding_note(columns: Sequence[ColumnSpec], categories: Mapping[str, int]) -> str:
    """preprocessing.txt of a table model's encoded part: how a row becomes its inputs.

    Args:
        columns: the model's feature columns (`TableSchema.columns`).
        categories: each categorical input's number of categories in categories.json.
    """
    numeric = [c.input for c in columns if c.kind != CATEGORICAL]
    categorical = [f"{c.input} ({categories[c.input]})" for c in columns if c.kind == CATEGORICAL]
    return (
        "encoded_model takes one float32 input per feature column, by input name (run.json's "
        "dataset.spec.columns maps the file's column names to them):\n\n"
        "- numeric columns: float32 [batch], the number as the file writes it (in the number "
        "format of run.json's dataset.spec.number_format); NaN for a missing value, which the "
        "model replaces by the column's training median.\n"
        "- categorical columns: float32 [batch, categories], one-hot: 1 at the category's "
        "position in the column's list in categories.json and 0 everywhere else. A "
        f"category's position: {CATEGORY_LOOKUP}\n\n"
        f"Numeric columns: {', '.join(numeric) or 'none'}.\n"
        f"Categorical columns (list length): {', '.join(categorical)}.\n"
    )


def normalization_as_dense(normalization: keras.layers.Normalization) -> keras.layers.Dense:
    """The Dense layer (built, named `normalization`) that computes a Normalization exactly,
    `(x - mean) / std`, with a diagonal kernel of `1 / std` and a bias of `-mean / std`
    (std = max(sqrt(variance), epsilon), as Keras computes it): Keras' ONNX exporter would
    make the mean and variance inputs of the graph, a Dense layer's weights it keeps.

    Args:
        normalization: an adapted or initialized Normalization over the last axis.
    """
    mean = keras.ops.convert_to_numpy(normalization.mean).reshape(-1)
    variance = keras.ops.convert_to_numpy(normalization.variance).reshape(-1)
    scale = 1 / np.maximum(np.sqrt(variance), keras.config.epsilon())
    dense = keras.layers.Dense(len(mean), name="normalization")
    dense.build((None, len(mean)))
    dense.set_weights([np.diag(scale).astype(np.float32), (-mean * scale).astype(np.float32)])
    return dense
