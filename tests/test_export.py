"""`tfapps export`: every task to every format, each file checked with its own runtime."""

from __future__ import annotations

import json

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
