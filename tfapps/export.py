"""Writes a trained model: a TF SavedModel serving raw input, the native `model.keras`, and a
sample of raw test examples that `tfapps export` checks exported files on."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfapps import runs
from tfapps.runs import OUTPUT_NAME, SERVING_ENDPOINT

SAMPLE_EXAMPLES = 256  # raw test examples kept in test_sample.npz


def raw_input_signature(model: keras.Model) -> list:
    """Returns the `tf.TensorSpec`s of the model's raw inputs, named after its `keras.Input`s,
    in the structure the model was built on (Keras warns when a call's inputs differ).

    A model built on inputs by name (a table's columns, even a single one) gets one dict of
    specs; a model with one unnamed input gets one spec.
    """
    specs = {
        tensor.name: tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=tensor.name)
        for tensor in model.inputs
    }
    return [specs] if isinstance(model.input, dict) else list(specs.values())


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


def export_model(
    model: keras.Model,
    run_dir: Path,
    assets: dict[str, str] | None = None,
    test: tf.data.Dataset | None = None,
) -> None:
    """Writes `saved_model/` (signature `serving_default` → `{"predictions": ...}`), model.keras,
    any assets (such as vocabulary.txt) and the test sample (`write_test_sample`).

    Args:
        model: the trained model; its inputs take raw data (preprocessing is inside).
        run_dir: the (temporary) run directory.
        assets: file name to text, written beside the model. Defaults to none.
        test: the unbatched `(raw input, label)` test split. Defaults to none (no sample).
    """
    write_saved_model(model, run_dir / runs.SAVED_MODEL_DIR)
    model.save(run_dir / runs.MODEL_KERAS)
    for name, text in (assets or {}).items():
        (run_dir / name).write_text(text, encoding="utf-8")
    if test is not None:
        write_test_sample(test, run_dir / runs.TEST_SAMPLE)


def write_test_sample(test: tf.data.Dataset, path: Path) -> None:
    """Writes the first `SAMPLE_EXAMPLES` raw test inputs as a NumPy `.npz` file (no pickles:
    texts as Unicode arrays): one array per input name for a model of named columns, else one
    array called `examples`."""
    inputs = next(iter(test.batch(SAMPLE_EXAMPLES).as_numpy_iterator()))[0]
    arrays = inputs if isinstance(inputs, dict) else {runs.SAMPLE_KEY: inputs}
    np.savez_compressed(path, **{name: _storable(values) for name, values in arrays.items()})


def read_test_sample(path: Path) -> np.ndarray | dict[str, np.ndarray]:
    """The raw test inputs `write_test_sample` wrote, as the run's model takes them."""
    with np.load(path, allow_pickle=False) as sample:
        arrays = {name: sample[name] for name in sample.files}
    return arrays[runs.SAMPLE_KEY] if set(arrays) == {runs.SAMPLE_KEY} else arrays


def _storable(values: np.ndarray) -> np.ndarray:
    """Byte strings (tf.string) as Unicode, so the file needs no pickle."""
    if values.dtype == object:
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in values])
    return values
