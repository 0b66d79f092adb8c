"""The part of a run's model an export format holds (`Part`), and what the parts share.

Each task decides its part (`Task.export_part`); see `export_formats` for the rules. A `Part`
is the Keras model to export, its input signature, how the run's raw examples become its
inputs (to check it), and the notes written beside it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

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


def raw_part(model: keras.Model, classifier: bool) -> Part:
    """The whole model, taking the raw input its SavedModel's serving_default takes.

    Args:
        model: the run's model (model.keras).
        classifier: whether its outputs are class probabilities.
    """
    names = [tensor.name for tensor in model.inputs]
    return Part(
        model=model,
        signature=raw_input_signature(model),
        stem="model",
        takes=RAW,
        encode=lambda examples: examples if isinstance(examples, dict) else {names[0]: examples},
        classifier=classifier,
    )


def copy_layer(layer: keras.layers.Layer, inputs):
    """Calls a fresh copy of `layer` (its config and weights) on `inputs`: the copies hold
    their values as their own, which exporters turn into constants."""
    copy = layer.__class__.from_config(layer.get_config())
    outputs = copy(inputs)
    copy.set_weights(layer.get_weights())
    return outputs


def at_inference(model: keras.Model) -> keras.Model:
    """The model with `training=False` fixed, for exporters that trace it without (Keras'
    ONNX exporter calls `model(inputs)`).

    Called without `training`, a Keras 3 layer takes the default of its own `call` and hands
    it on to the layers after it (`Layer._resolve_and_populate_arg`); the augmentation layers'
    default is `training=True`, so such a trace would hold random flips, rotations, dropout
    and BatchNormalization in training mode. The returned model shares every weight.

    Args:
        model: a functional model.
    """
    inputs = model.input  # as the model was built: a tensor, a list or a dict of them
    return keras.Model(inputs, model(inputs, training=False), name=model.name)
