"""`tfapps export`: every task to every format, each file checked with its own runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tfapps.errors import InvalidInput, RunFailed

pytestmark = pytest.mark.slow  # the runs train, and the exporters convert real models

EXPECTED_FILES = {
    ("image", "onnx"): ["model.onnx"],
    ("image", "litert"): ["model.tflite"],
    ("image", "saved_model"): ["model"],
    ("text", "onnx"): ["token_model.onnx", "preprocessing.txt", "vocabulary.txt"],
    ("text", "litert"): ["token_model.tflite", "preprocessing.txt", "vocabulary.txt"],
    ("text", "saved_model"): ["model"],
    ("ngram", "onnx"): [
        "tf_idf_model.onnx",
        "preprocessing.txt",
        "vocabulary.txt",
        "idf_weights.txt",
    ],
    ("ngram", "litert"): [
        "tf_idf_model.tflite",
        "preprocessing.txt",
        "vocabulary.txt",
        "idf_weights.txt",
    ],
    ("ngram", "saved_model"): ["model"],
    ("table", "onnx"): ["encoded_model.onnx", "categories.json", "preprocessing.txt"],
    ("table", "litert"): ["encoded_model.tflite", "categories.json", "preprocessing.txt"],
    ("table", "saved_model"): ["model"],
    ("classes", "onnx"): ["encoded_model.onnx", "categories.json", "preprocessing.txt"],
    ("classes", "litert"): ["encoded_model.tflite", "categories.json", "preprocessing.txt"],
    ("classes", "saved_model"): ["model"],
}


@pytest.mark.parametrize(("task", "fmt"), list(EXPECTED_FILES))
def test_every_task_exports_to_every_format_and_agrees(tiny_runs, run_cli, tmp_path, task, fmt):
    output = tmp_path / "out"
    result = run_cli("export", tiny_runs[task], "--format", fmt, "--output", output)
    assert result.exit_code == 0, result.output
    assert [p.name for p in sorted(output.iterdir(), key=lambda p: p.name)] == sorted(
        EXPECTED_FILES[task, fmt]
    )
    assert "checked on" in result.output and "test examples" in result.output
    exports = json.loads((tiny_runs[task] / "run.json").read_text())["exports"]
    entry = next(e for e in reversed(exports) if e["files"][0].startswith(str(output)))
    assert entry["format"] == fmt and entry["max_difference"] <= 1e-4
    if task != "table":
        assert entry["same_classes"] == 1.0
    if task == "text" and fmt != "saved_model":
        note = (output / "preprocessing.txt").read_text()
        assert "vocabulary.txt" in note and "int64 [batch, 20]" in note
    if task == "ngram" and fmt != "saved_model":
        features = len((output / "vocabulary.txt").read_text().splitlines())
        assert f"float32 [batch, {features}]" in (output / "preprocessing.txt").read_text()


def vectors_as_the_note_says(texts: list[str], folder) -> np.ndarray:
    """TF-IDF vectors computed by the steps of an n-gram export's preprocessing.txt, in plain
    Python (its tokens by `NoteFollower`, read from the note itself), from its vocabulary.txt
    and idf_weights.txt."""
    from test_text_standardization import NoteFollower

    follower = NoteFollower((folder / "preprocessing.txt").read_text(encoding="utf-8"))
    vocabulary = (folder / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    weights = np.loadtxt(folder / "idf_weights.txt", dtype=np.float32)
    column = {ngram: index for index, ngram in enumerate(vocabulary)}
    vectors = np.zeros((len(texts), len(vocabulary)), np.float32)
    for row, text in enumerate(texts):
        words = follower.tokens(text)
        for ngram in words + [" ".join(pair) for pair in zip(words[:-1], words[1:], strict=True)]:
            vectors[row, column.get(ngram, 0)] += 1
    return vectors * weights


def test_the_ngram_export_note_is_exact(tiny_runs, run_cli, tmp_path):
    import onnxruntime
    import tensorflow as tf

    texts = ["Great FUN, loved it!<br />dull", "awful &amp; boring DÜLL 😀", "nothing it knows", ""]
    result = run_cli("export", tiny_runs["ngram"], "--format", "onnx", "--output", tmp_path)
    assert result.exit_code == 0, result.output
    session = onnxruntime.InferenceSession(str(tmp_path / "tf_idf_model.onnx"))
    feed = {session.get_inputs()[0].name: vectors_as_the_note_says(texts, tmp_path)}
    served = tf.saved_model.load(str(tiny_runs["ngram"] / "saved_model")).signatures[
        "serving_default"
    ](texts=tf.constant(texts))["predictions"]
    np.testing.assert_allclose(session.run(None, feed)[0], served.numpy(), atol=1e-6)


def test_a_model_with_augmentation_exports_its_inference(tmp_path):
    """Keras' ONNX exporter calls the model without `training`; the augmentation layers'
    default would trace random flips (and training-mode layers after them) into the file."""
    import numpy as np
    import onnxruntime

    from tfapps.export import raw_input_signature
    from tfapps.export_formats import _write
    from tfapps.tasks.image_model import build_image_classifier

    model = build_image_classifier((32, 32, 3), 3, augment=True)
    path = _write(model, raw_input_signature(model), tmp_path / "model.onnx", "onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    (got,) = session.run(None, {"images": images})
    np.testing.assert_allclose(got, model.predict(images, verbose=0), atol=1e-5)


def test_a_file_that_disagrees_is_not_kept(tiny_runs, tmp_path, monkeypatch):
    from tfapps import export_formats

    monkeypatch.setattr(export_formats, "TOLERANCE", -1.0)  # any difference disagrees
    with pytest.raises(RunFailed, match="computes something else"):
        export_formats.export(tiny_runs["image"], "litert", tmp_path)
    assert not (tmp_path / "model.tflite").exists()


def test_a_missing_runtime_names_the_extra(tiny_runs, run_cli, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name)
    )
    result = run_cli("export", tiny_runs["image"], "--format", "onnx")
    assert result.exit_code == 2
    assert "pip install 'tfapps[export]'" in result.stderr and "onnxruntime" in result.stderr


def test_an_unknown_format_or_a_non_run_is_refused(tiny_runs, tmp_path):
    from tfapps.export_formats import export

    with pytest.raises(InvalidInput, match="--format"):
        export(tiny_runs["image"], "coreml")
    with pytest.raises(InvalidInput, match="not a tfapps run directory"):
        export(tmp_path, "onnx")
