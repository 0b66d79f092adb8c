"""User mistakes end in one clear line on stderr with exit status 2 and no traceback."""

from __future__ import annotations

import pytest
from conftest import write_png_folder


def _assert_one_clear_line(result, *fragments: str, exit_code: int = 2) -> None:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _image_classify(run_cli, tmp_path, *args):
    return run_cli(
        "image-classify",
        "--quiet",
        "--epochs",
        1,
        "--output-dir",
        tmp_path / "out",
        "--data-dir",
        tmp_path / "tfds",
        *args,
    )


def test_unknown_dataset_lists_the_valid_ones(run_cli, tmp_path):
    result = _image_classify(run_cli, tmp_path, "--dataset", "not_a_dataset")
    _assert_one_clear_line(result, "'not_a_dataset'", "digits", "mnist", "root/<class>")
    assert not (tmp_path / "out" / "image-classify").exists()


def test_missing_path(run_cli, tmp_path):
    result = _image_classify(run_cli, tmp_path, "--dataset", str(tmp_path / "nowhere"))
    _assert_one_clear_line(result, "does not exist", "nowhere")


def test_folder_without_images(run_cli, tmp_path):
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    (tmp_path / "empty" / "cats" / "notes.txt").write_text("no images here")
    result = _image_classify(run_cli, tmp_path, "--dataset", str(tmp_path / "empty"))
    _assert_one_clear_line(result, "No images", "empty")


def test_folder_with_a_single_class(run_cli, tmp_path):
    write_png_folder(tmp_path / "one", {"only": 5})
    result = _image_classify(run_cli, tmp_path, "--dataset", str(tmp_path / "one"))
    _assert_one_clear_line(result, "1 class", "'only'", "at least 2")


def test_corrupt_image_is_named(run_cli, tmp_path):
    root = write_png_folder(tmp_path / "imgs", {"a": 5, "b": 5})
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    result = _image_classify(run_cli, tmp_path, "--dataset", str(root))
    _assert_one_clear_line(result, "Cannot read image", "broken.png")


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--epochs", "0", "--epochs"),
        ("--validation-split", "1.5", "--validation-split"),
        ("--validation-split", "0", "--validation-split"),
        ("--batch-size", "0", "--batch-size"),
        ("--filters", "32,abc", "--filters"),
        ("--image-size", "28", "--image-size"),
        ("--precision", "float8", "--precision"),
    ],
)
def test_bad_option_values_name_option_and_value(run_cli, tmp_path, option, value, fragment):
    result = _image_classify(run_cli, tmp_path, option, value)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert fragment in result.stderr and value.split(",")[-1] in result.stderr


def test_output_dir_that_cannot_be_created(run_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("I am a file, not a directory")
    result = run_cli("image-classify", "--quiet", "--output-dir", blocker / "runs")
    _assert_one_clear_line(result, "Cannot write to --output-dir", "a-file")
    assert blocker.read_text() == "I am a file, not a directory"


def test_debug_shows_the_traceback(run_cli, tmp_path):
    result = _image_classify(run_cli, tmp_path, "--dataset", "not_a_dataset", "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_unexpected_failure_is_one_line_with_exit_status_1(run_cli, tmp_path, monkeypatch):
    import tfapps.api

    def explode(config):
        raise RuntimeError("disk on fire\nsecond line of detail")

    monkeypatch.setattr(tfapps.api, "train", explode)
    result = _image_classify(run_cli, tmp_path)
    _assert_one_clear_line(result, "RuntimeError: disk on fire", "--debug", exit_code=1)
