"""Which part of a run's model an export format can hold, and what the rest needs.

See `export_formats` for the rules. A `Part` is the Keras model to export, its input
signature, how the run's raw examples become its inputs (to check it), and the notes written
beside it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfapps import runs
from tfapps.export import raw_input_signature

STRING_PREPROCESSING = ("onnx", "litert")  # formats without TensorFlow's string ops
RAW = "raw input, as the SavedModel's serving_default"


@dataclass
class Part:
    """The part of a model an export holds.

    Args:
        model: the Keras model to export.
        signature: its input signature (`tf.TensorSpec`s).
        stem: the exported file's name without suffix.
        takes: what the exported model takes, in words.
        encode: turns raw examples (as `model.predict` of the run's model takes them) into
            the exported model's inputs, by name.
        classifier: whether the outputs are class probabilities.
        notes: file name to text, written beside the exported model.
        copies: files of the run directory the exported model needs beside it.
        run_dir: the run directory the copies come from.
    """

    model: keras.Model
    signature: list
    stem: str
    takes: str
    encode: Callable[[object], dict[str, np.ndarray]]
    classifier: bool
    notes: dict[str, str] = field(default_factory=dict)
    copies: list[str] = field(default_factory=list)
    run_dir: Path | None = None

    def write_notes(self, folder: Path) -> list[Path]:
        """Writes the notes and copies into `folder`; returns their paths."""
        written = []
        for name, text in self.notes.items():
            (folder / name).write_text(text, encoding="utf-8")
            written.append(folder / name)
        for name in self.copies:
            if self.run_dir is not None and (folder / name) != (self.run_dir / name):
                shutil.copyfile(self.run_dir / name, folder / name)
            written.append(folder / name)
        return written


def exportable_part(model: keras.Model, record: runs.RunRecord, fmt: str) -> Part:
    """The part of the run's model that `fmt` can hold (the whole model when it can)."""
    classifier = record.task != "regress"
    if record.task == "sentiment" and fmt in STRING_PREPROCESSING:
        return _token_model(model, record)
    columns = record.dataset.details.get("columns", [])
    categorical = [column for column in columns if column["kind"] == "categorical"]
    if record.task == "regress" and fmt == "onnx":
        return _encoded_model(model, record, categorical)
    signature = raw_input_signature(model)
    names = [tensor.name for tensor in model.inputs]
    return Part(
        model=model,
        signature=signature,
        stem="model",
        takes=RAW,
        encode=lambda examples: examples if isinstance(examples, dict) else {names[0]: examples},
        classifier=classifier,
    )


def _token_model(model: keras.Model, record: runs.RunRecord) -> Part:
    vectorizer = model.get_layer("vectorizer")
    classifier = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    length = vectorizer.get_config()["output_sequence_length"]
    spec = tf.TensorSpec((None, length), tf.int64, name="tokens")
    names = record.dataset.class_names
    outputs = f"P({names[1]}), one column" if len(names) == 2 else "one probability a class"
    note = (
        f"token_model takes token ids, int64 [batch, {length}], and returns what the run's "
        f"model returns ({outputs}; classes in order: {', '.join(names)}).\n\n"
        "A text becomes token ids exactly as the run's TextVectorization layer does it:\n"
        "1. lower-case it;\n"
        "2. replace every HTML line break (the regular expression <br\\s*/?>) by a space;\n"
        "3. replace every character that is neither a word character nor white space (the\n"
        "   regular expression [^\\w\\s], Unicode-aware) by a space;\n"
        "4. split on white space;\n"
        "5. map each word to its line number in vocabulary.txt, counting from 0 (line 0 is the\n"
        "   padding token, line 1 the out-of-vocabulary token [UNK], used for any word not in\n"
        "   the file);\n"
        f"6. keep the first {length} ids, and pad with 0 to {length}.\n"
    )
    return Part(
        model=classifier,
        signature=[spec],
        stem="token_model",
        takes=f"token ids, int64 [batch, {length}] (see preprocessing.txt and vocabulary.txt)",
        encode=lambda texts: {"tokens": vectorizer(tf.constant(texts)).numpy().astype(np.int64)},
        classifier=True,
        notes={"preprocessing.txt": note},
        copies=[runs.VOCABULARY_TXT],
        run_dir=record.directory,
    )


def _encoded_model(model: keras.Model, record: runs.RunRecord, categorical: list[dict]) -> Part:
    """The regressor for ONNX: after its StringLookup layers (categorical columns one-hot),
    with its Normalization as an equal Dense layer (`_as_dense`)."""
    # The order the model concatenates its columns in: the order of the dataset's columns,
    # which run.json keeps (`models.build_regressor` encodes them in that order).
    names = [column["input"] for column in record.dataset.details["columns"]]
    lookups = {c["input"]: model.get_layer(f"{c['input']}_lookup") for c in categorical}
    inputs, encoded = {}, []
    for name in names:
        if name in lookups:
            size = lookups[name].vocabulary_size()
            inputs[name] = keras.Input(shape=(size,), dtype="float32", name=name)
            encoded.append(inputs[name])
        else:
            inputs[name] = keras.Input(shape=(), dtype="float32", name=name)
            encoded.append(_copy(model.get_layer(f"{name}_column"), inputs[name]))
    x = _copy(model.get_layer("features"), encoded) if len(encoded) > 1 else encoded[0]
    normalization = model.get_layer("normalization")
    x = _as_dense(normalization, x)
    for layer in model.layers[model.layers.index(normalization) + 1 :]:  # Dense, predictions
        x = _copy(layer, x)
    encoded_model = keras.Model(inputs, x, name="encoded_regressor")
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
        return Part(encoded_model, signature, "model", RAW, encode, False)
    note = (
        "encoded_model takes each numeric column as float32 [batch] and each categorical "
        "column one-hot encoded, float32 [batch, categories]: position i is 1 for the i-th "
        "category of the column in categories.json, position 0 for any category not there "
        "(the out-of-vocabulary slot, '[UNK]'). Categories are the strings tfapps looks up: "
        "surrounding spaces removed, whole numbers without '.0', missing values as ''. "
        "Missing numbers are the training medians in run.json (dataset.details.columns).\n"
    )
    return Part(
        model=encoded_model,
        signature=signature,
        stem="encoded_model",
        takes="numeric columns, and categorical ones one-hot (see preprocessing.txt)",
        encode=encode,
        classifier=False,
        notes={
            "categories.json": json.dumps(categories, indent=2, ensure_ascii=False) + "\n",
            "preprocessing.txt": note,
        },
    )


def _copy(layer: keras.layers.Layer, inputs):
    """Calls a fresh copy of `layer` (its config and weights) on `inputs`: the copies hold
    their values as their own, which exporters turn into constants."""
    copy = layer.__class__.from_config(layer.get_config())
    outputs = copy(inputs)
    copy.set_weights(layer.get_weights())
    return outputs


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
