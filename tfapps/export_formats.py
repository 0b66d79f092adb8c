"""`tfapps export`: a finished run's model as ONNX, LiteRT or a SavedModel, each verified.

Keras' own exporters write the files (`model.export(format="onnx" | "litert")`, through
tf2onnx and TensorFlow's LiteRT converter; `keras.export.ExportArchive` for a SavedModel).
Each file is then run with its own runtime (onnxruntime, the LiteRT interpreter of
`ai-edge-litert`, `tf.saved_model.load`) on the run's test examples (the sample that
training kept, `export.write_test_sample`) and compared with the
run's SavedModel: the same predicted class for every example, and every output within
`TOLERANCE` (absolute, or relative for outputs larger than 1 in magnitude, such as prices,
where float32 itself holds only about 7 digits). A file that disagrees is deleted and the
export fails.

Where a format cannot hold part of a model, the part it can hold (`Task.export_part`) is
exported with what the rest needs, never a file that silently computes something else:

- text models (ONNX and LiteRT): the string preprocessing (TextVectorization's lower-casing,
  regular expressions and vocabulary lookup) needs TensorFlow ops outside both formats, so
  `token_model.*` takes token ids, `int64 [batch, sequence_length]`, with `vocabulary.txt`
  and `preprocessing.txt` saying exactly how texts become ids;
- table models with categorical columns (ONNX): the StringLookup tables are not ONNX ops, so
  `encoded_model.onnx` takes each categorical column one-hot encoded, with `categories.json`
  giving each column's categories in order and `preprocessing.txt` the encoding. (A table
  model's Normalization goes to ONNX as the Dense layer that computes it exactly: Keras'
  ONNX exporter would make its mean and variance inputs of the graph.)
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfapps import runs
from tfapps.errors import InvalidInput, RunFailed
from tfapps.run_dirs import utc_now

FORMATS = ("onnx", "litert", "saved_model")
SUFFIXES = {"onnx": ".onnx", "litert": ".tflite", "saved_model": ""}
RUNTIMES = {"onnx": ("tf2onnx", "onnxruntime"), "litert": ("ai_edge_litert",)}
TOLERANCE = 1e-4  # largest difference allowed from the SavedModel's output (× it, beyond 1)


@dataclass
class Exported:
    """What `export` wrote and how it agreed with the SavedModel.

    Args:
        format: `"onnx"`, `"litert"` or `"saved_model"`.
        files: the files written, the model first.
        takes: what the exported model takes (raw input, token ids, encoded columns).
        examples: examples it was checked on, and where they came from.
        same_classes: share of examples with the SavedModel's class (classifiers).
        max_difference: the largest difference of an output from the SavedModel's, divided
            by the output's magnitude where that is above 1.
    """

    format: str
    files: list[Path]
    takes: str
    examples: str
    same_classes: float | None
    max_difference: float

    def to_dict(self) -> dict:
        """run.json's entry under `exports`."""
        return {
            "format": self.format,
            "files": [str(path) for path in self.files],
            "takes": self.takes,
            "checked_on": self.examples,
            "same_classes": self.same_classes,
            "max_difference": self.max_difference,
            "exported_at": utc_now(),
        }


def export(path: str | Path, fmt: str, output: Path | None = None) -> Exported:
    """Exports a finished run's model as `fmt`, checks it, and records it in run.json.

    Args:
        path: the run directory (or its `saved_model/`).
        fmt: one of `FORMATS`.
        output: the folder to write into. Defaults to the run directory.

    Raises:
        InvalidInput: not a finished run, an unknown format, a missing runtime (naming the
            extra to install), or an output folder that cannot be written.
        RunFailed: the exporter failed, or the exported model disagrees with the SavedModel.
    """
    if fmt not in FORMATS:
        raise InvalidInput(
            f"Invalid value for --format: expected one of {'|'.join(FORMATS)}. Received: {fmt!r}"
        )
    record = runs.load_finished(path)
    _check_runtimes(fmt)
    folder = Path(output).expanduser() if output else record.directory
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInput(f"Cannot write to --output {str(folder)!r}: {error.strerror}.") from None
    from tfapps.export import read_test_sample
    from tfapps.tasks import get_task

    task = get_task(record.task)
    model = task.load_model(record.directory / runs.MODEL_KERAS)
    part = task.export_part(model, record, fmt)
    target = folder / f"{part.stem}{SUFFIXES[fmt]}"
    classes = record.dataset.class_names if task.serves_class_names else None
    written = _write(part.model, part.signature, target, fmt, classes)
    examples = read_test_sample(record.directory / runs.TEST_SAMPLE)
    count = len(next(iter(examples.values())) if isinstance(examples, dict) else examples)
    where = f"{count} test examples of {record.dataset.name}"
    try:
        same, difference = _check(written, fmt, part, model, examples)
    except Exception:
        _remove(written)
        raise
    files = [written, *part.write_notes(folder)]  # only beside a file that passed its check
    exported = Exported(fmt, files, part.takes, where, same, difference)
    record.exports = [*record.exports, exported.to_dict()]
    record.write(record.directory)
    return exported


def _check_runtimes(fmt: str) -> None:
    import importlib.util

    missing = [name for name in RUNTIMES.get(fmt, ()) if importlib.util.find_spec(name) is None]
    if missing:
        raise InvalidInput(
            f"Exporting to {fmt} needs {', '.join(missing)}, which are not installed: "
            "pip install 'tfapps[export]'."
        )


def _write(model, signature, target: Path, fmt: str, class_names=None) -> Path:
    _remove(target)
    try:
        if fmt == "saved_model":
            from tfapps.export import write_saved_model

            write_saved_model(model, target, class_names)
        else:
            from tfapps.export_parts import at_inference

            with warnings.catch_warnings():  # the exporters' own deprecation chatter
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                at_inference(model).export(
                    str(target), format=fmt, verbose=False, input_signature=signature
                )
    except Exception as error:
        _remove(target)
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RunFailed(f"The {fmt} exporter failed: {type(error).__name__}: {first}") from None
    return target


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _check(written: Path, fmt: str, part, model, examples) -> tuple[float | None, float]:
    """Runs the exported file on the examples and compares it with the full model."""
    import tensorflow as tf

    from tfapps.pipeline import untuned

    batches = untuned(tf.data.Dataset.from_tensor_slices(examples).batch(64))
    expected = np.asarray(model.predict(batches, verbose=0))
    got = np.asarray(_run(written, fmt, part.encode(examples)))
    scaled = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    difference = float(np.max(scaled)) if expected.size else 0.0
    same = None
    if expected.shape[-1] > 1 or part.classifier:
        same = float(np.mean(_classes(got) == _classes(expected)))
    if difference > TOLERANCE or (same is not None and same < 1.0):
        classes = "" if same is None else f", the same class for {same:.1%} of the examples"
        raise RunFailed(
            f"The {fmt} model computes something else than the run's model: outputs differ by "
            f"up to {difference:.2g} (allowed {TOLERANCE:g}){classes}; nothing was kept."
        )
    return same, difference


def _classes(outputs: np.ndarray) -> np.ndarray:
    return (outputs[:, 0] > 0.5).astype(int) if outputs.shape[-1] == 1 else outputs.argmax(-1)


def _run(written: Path, fmt: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Runs an exported model with its own runtime, in batches of at most 64 examples."""
    count = len(next(iter(inputs.values())))
    chunks = [
        {name: value[start : start + 64] for name, value in inputs.items()}
        for start in range(0, count, 64)
    ]
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(written), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        feeds = [{n: c[n] for n in names if n in c} for c in chunks]  # others: initializers
        return np.concatenate([session.run(None, feed)[0] for feed in feeds])
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_path=str(written)).get_signature_runner()
        return np.concatenate([next(iter(runner(**chunk).values())) for chunk in chunks])
    import tensorflow as tf

    signature = tf.saved_model.load(str(written)).signatures[runs.SERVING_ENDPOINT]
    results = [
        signature(**{k: tf.constant(v) for k, v in chunk.items()})[runs.OUTPUT_NAME].numpy()
        for chunk in chunks
    ]
    return np.concatenate(results)
