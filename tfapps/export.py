"""Writes a trained model: a TF SavedModel serving raw input, the native `model.keras`, and a
sample of raw test examples that `tfapps export` checks exported files on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfapps import runs
from tfapps.runs import CLASS_OUTPUT, OUTPUT_NAME, SERVING_ENDPOINT

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


def write_saved_model(
    model: keras.Model, path: Path, class_names: Sequence[str] | None = None
) -> None:
    """Writes a SavedModel whose signature `serving_default` takes the model's raw inputs by
    name and returns `{"predictions": ...}` (`keras.export.ExportArchive`), and with
    `class_names` also `"classes"`: each example's most probable class, `string [batch]`.

    Args:
        model: the model; its inputs take raw data (preprocessing is inside).
        path: the SavedModel's folder.
        class_names: a classifier's class names in label order. Defaults to none (no
            `"classes"` output).
    """

    def serve(inputs):
        outputs = model(inputs, training=False)
        served = {OUTPUT_NAME: outputs}
        if class_names:
            served[CLASS_OUTPUT] = predicted_classes(outputs, class_names)
        return served

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SERVING_ENDPOINT, fn=serve, input_signature=raw_input_signature(model)
    )
    archive.write_out(str(path), verbose=False)


def predicted_classes(outputs: tf.Tensor, class_names: Sequence[str]) -> tf.Tensor:
    """The most probable class of each row of a classifier's outputs, `string [batch]`: the
    second class where a single sigmoid column is above 0.5, else the argmax (as
    `reports.class_probabilities` and the reports decide)."""
    names = tf.constant(list(class_names))
    if outputs.shape[-1] == 1:
        return tf.gather(names, tf.cast(outputs[:, 0] > 0.5, tf.int32))
    return tf.gather(names, tf.argmax(outputs, axis=-1))


def export_model(
    model: keras.Model,
    run_dir: Path,
    assets: dict[str, str] | None = None,
    test: tf.data.Dataset | None = None,
    class_names: Sequence[str] | None = None,
) -> None:
    """Writes `saved_model/` (signature `serving_default` → `{"predictions": ...}`), model.keras,
    any assets (such as vocabulary.txt) and the test sample (`write_test_sample`).

    Args:
        model: the trained model; its inputs take raw data (preprocessing is inside).
        run_dir: the (temporary) run directory.
        assets: file name to text, written beside the model. Defaults to none.
        test: the unbatched `(raw input, label)` test split. Defaults to none (no sample).
        class_names: the class names a classifier's SavedModel also outputs
            (`write_saved_model`). Defaults to none.
    """
    write_saved_model(model, run_dir / runs.SAVED_MODEL_DIR, class_names)
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
