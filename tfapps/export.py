"""Writes a trained model: a TF SavedModel serving raw input, and the native `model.keras`."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from tfapps import runs

SERVING_ENDPOINT = "serving_default"
OUTPUT_NAME = "predictions"


def raw_input_signature(model: keras.Model) -> list:
    """Returns the `tf.TensorSpec`s of the model's raw inputs, named after its `keras.Input`s.

    A model with one input gets one spec; a model with several gets one dict of specs.
    """
    specs = {
        tensor.name: tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=tensor.name)
        for tensor in model.inputs
    }
    return [next(iter(specs.values()))] if len(specs) == 1 else [specs]


def write_saved_model(model: keras.Model, path: Path) -> None:
    """Writes a SavedModel whose signature `serving_default` takes the model's raw inputs by
    name and returns `{"predictions": ...}` (`keras.export.ExportArchive`).

    Args:
        model: the model; its inputs take raw data (preprocessing is inside).
        path: the SavedModel's folder.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SERVING_ENDPOINT,
        fn=lambda inputs: {OUTPUT_NAME: model(inputs, training=False)},
        input_signature=raw_input_signature(model),
    )
    archive.write_out(str(path), verbose=False)


def export_model(model: keras.Model, run_dir: Path, assets: dict[str, str] | None = None) -> None:
    """Writes `saved_model/` (signature `serving_default` → `{"predictions": ...}`), model.keras
    and any assets (such as vocabulary.txt).

    Args:
        model: the trained model; its inputs take raw data (preprocessing is inside).
        run_dir: the (temporary) run directory.
        assets: file name to text, written beside the model. Defaults to none.
    """
    write_saved_model(model, run_dir / runs.SAVED_MODEL_DIR)
    model.save(run_dir / runs.MODEL_KERAS)
    for name, text in (assets or {}).items():
        (run_dir / name).write_text(text, encoding="utf-8")
