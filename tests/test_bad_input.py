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
        ("--checkpoint-seconds", "-1", "--checkpoint-seconds"),
        ("--start-from-epoch", "-2", "--start-from-epoch"),
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

    def explode(config, resume=None):
        raise RuntimeError("disk on fire\nsecond line of detail")

    monkeypatch.setattr(tfapps.api, "train", explode)
    result = _image_classify(run_cli, tmp_path)
    _assert_one_clear_line(result, "RuntimeError: disk on fire", "--debug", exit_code=1)


def _sentiment(run_cli, tmp_path, dataset, *args):
    return run_cli(
        "sentiment",
        "--quiet",
        "--epochs",
        1,
        "--dataset",
        dataset,
        "--output-dir",
        tmp_path / "out",
        *args,
    )


def test_sentiment_csv_without_the_text_column_names_the_columns(run_cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review,label\ngood,pos\nbad,neg\n")
    result = _sentiment(run_cli, tmp_path, path)
    _assert_one_clear_line(result, "no column 'text'", "['review', 'label']", "--text-column")


def test_sentiment_csv_with_nothing_usable_left(run_cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('text,label\n"",pos\n"  ",neg\nhello,\n')
    result = _sentiment(run_cli, tmp_path, path)
    _assert_one_clear_line(result, "no usable rows", "all 3 rows")


def test_sentiment_single_label_class(run_cli, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\ngood,pos\nfine,pos\ngreat,pos\n")
    result = _sentiment(run_cli, tmp_path, path)
    _assert_one_clear_line(result, "single label class", "'pos'")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (bytes(range(256)) * 8, "not a text file"),
        ("text,label\ncaf\xe9 cr\xe8me,pos\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_sentiment_unreadable_files_are_named(run_cli, tmp_path, content, fragment):
    path = tmp_path / "weird.csv"
    path.write_bytes(content)
    result = _sentiment(run_cli, tmp_path, path)
    _assert_one_clear_line(result, fragment, "weird.csv")


@pytest.mark.parametrize("option", ["--sequence-length", "--max-tokens"])
def test_sentiment_sizes_below_one(run_cli, tmp_path, option):
    result = _sentiment(run_cli, tmp_path, "movie_reviews", option, "0")
    _assert_one_clear_line(result, option, "Received: 0")


def test_sentiment_unknown_dataset_lists_the_valid_ones(run_cli, tmp_path):
    result = _sentiment(run_cli, tmp_path, "imdb_typo")
    _assert_one_clear_line(result, "'imdb_typo'", "movie_reviews", "imdb_reviews", ".txt")


def _regress(run_cli, tmp_path, csv_text, *args):
    path = tmp_path / "table.csv"
    path.write_text(csv_text, encoding="utf-8")
    return run_cli(
        "regress",
        "--quiet",
        "--epochs",
        1,
        "--dataset",
        path,
        "--output-dir",
        tmp_path / "out",
        *args,
    )


ROWS = "".join(f"{i},{i % 3},{i * 2.5}\n" for i in range(30))


@pytest.mark.parametrize(
    ("csv_text", "args", "fragments"),
    [
        ("a,b,y\n" + ROWS, (), ("--target is required", "['a', 'b', 'y']")),
        ("a,b,y\n" + ROWS, ("--target", "price"), ("'price'", "['a', 'b', 'y']")),
        ("a,b,y\n" + ROWS, ("--target", "y", "--drop", "nope"), ("'nope'",)),
        (
            "a,b,y\n" + ROWS.replace(",0.0\n", ",cheap\n"),
            ("--target", "y"),
            ("not numeric", "'cheap'"),
        ),
        ("a,b,y\n" + "".join(f"{i},{i},7\n" for i in range(30)), ("--target", "y"), ("constant",)),
        ("a,b,y\n" + "".join(f"{i},{i},\n" for i in range(30)), ("--target", "y"), ("no values",)),
        ("a,b,y\n", ("--target", "y"), ("no data rows",)),
        (
            "a,b,y\n" + "".join(f"{i},,{i}\n" for i in range(30)),
            ("--target", "y"),
            ("'b'", "empty"),
        ),
        ("a,b,y\n" + ROWS + "inf,1,3\n", ("--target", "y"), ("'a'", "infinity", "1 rows")),
        ("a,b,y\n" + ROWS, ("--target", "y", "--hidden-units", "64,0"), ("--hidden-units",)),
    ],
)
def test_regress_bad_tables(run_cli, tmp_path, csv_text, args, fragments):
    result = _regress(run_cli, tmp_path, csv_text, *args)
    _assert_one_clear_line(result, *fragments)


def test_predict_on_a_folder_that_is_not_a_run(run_cli, tmp_path):
    result = run_cli("predict", tmp_path, "x")
    _assert_one_clear_line(result, "is not a tfapps run directory", str(tmp_path))


def test_predict_with_a_run_json_that_does_not_parse(run_cli, tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    result = run_cli("predict", tmp_path, "x")
    _assert_one_clear_line(result, "Cannot parse", "run.json")


def test_predict_with_a_corrupt_saved_model(run_cli, tmp_path):
    (tmp_path / "run.json").write_text('{"task": "sentiment", "status": "complete"}')
    (tmp_path / "saved_model").mkdir()
    (tmp_path / "saved_model" / "saved_model.pb").write_bytes(b"\x00garbage")
    result = run_cli("predict", tmp_path, "x")
    _assert_one_clear_line(result, "Cannot load the SavedModel", "saved_model")


def test_predict_output_must_be_csv_or_json(run_cli, tmp_path):
    result = run_cli("predict", tmp_path, "x", "--output", tmp_path / "out.xlsx")
    _assert_one_clear_line(result, "--output", "out.xlsx")
