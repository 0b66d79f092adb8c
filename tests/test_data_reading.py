"""Users' own tables and texts are read the way they meant them, and the run says what it read:
missing markers, number formats, delimiters, label spellings, stratified splits, text files in
the training format, byte-order marks, column kinds."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import text_record, write_png_folder

from tfapps.data.info import DatasetInfo
from tfapps.data.numbers import NumberFormat, detect_number_format
from tfapps.data.specs import ColumnSpec, TableSchema
from tfapps.errors import InvalidInput
from tfapps.runs import RunRecord
from tfapps.tasks.image import ImageClassifyConfig
from tfapps.tasks.table_regression import RegressConfig
from tfapps.tasks.text import SentimentConfig


def _load(config):
    from tfapps.data.load import load_splits

    return load_splits(config)


def _column(splits, split, name):
    return np.concatenate([f[name] for f, _ in getattr(splits, split).batch(1000)])


def _all(splits, name):
    return np.concatenate(
        [_column(splits, split, name) for split in ("train", "validation", "test")]
    )


def _cars(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    power = rng.uniform(50, 220, rows).round(1)
    return pd.DataFrame(
        {
            "power": power.astype(object),
            "weight": (power * 17 + 900).round(),
            "origin": rng.choice(["USA", "Europe", "Japan"], rows),
            "mpg": (60 - power / 5).round(2),
        }
    )


@pytest.mark.parametrize("marker", ["?", "NA", "n/a", "-", "null", "", " N/A ", "None"])
def test_missing_markers_in_a_numeric_column_are_missing_numbers(tmp_path, marker):
    table = _cars()
    table.loc[[3, 17, 40], "power"] = marker
    table.to_csv(tmp_path / "cars.csv", index=False)
    splits = _load(RegressConfig(dataset=str(tmp_path / "cars.csv"), target="mpg", quiet=True))
    columns = {c.name: c.to_dict() for c in splits.info.spec.columns}
    assert columns["power"]["kind"] == "numeric" and columns["power"]["missing"] == 3
    # Missing numbers reach the model as NaN, which its FillMissing layer replaces by the
    # training median that run.json records.
    values = _all(splits, "power")
    assert np.isnan(values).sum() == 3
    kept = np.delete(_cars()["power"].astype(float).to_numpy(), [3, 17, 40])
    np.testing.assert_allclose(np.sort(values[~np.isnan(values)]), np.sort(kept), rtol=1e-6)
    assert columns["power"]["imputed"] == columns["power"]["median"]


def test_na_values_adds_markers_and_strays_are_named(tmp_path, caplog):
    table = _cars()
    table.loc[[2, 9], "power"] = "unknown"
    table.to_csv(tmp_path / "cars.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(RegressConfig(dataset=str(tmp_path / "cars.csv"), target="mpg", quiet=True))
    power = {c.name: c.to_dict() for c in splits.info.spec.columns}["power"]
    assert power["kind"] == "numeric" and power["markers"] == ["unknown"]
    assert "column 'power': read 'unknown' as missing" in caplog.text
    forced = RegressConfig(
        dataset=str(tmp_path / "cars.csv"), target="mpg", quiet=True, na_values=("UNKNOWN",)
    )
    power = {c.name: c.to_dict() for c in _load(forced).info.spec.columns}["power"]
    assert power["kind"] == "numeric" and "markers" not in power and power["missing"] == 2


@pytest.mark.parametrize(
    ("sep", "decimal", "power", "expected"),
    [
        (",", None, "1,234.5", 1234.5),  # a quoted thousands separator
        (";", None, "1.234,5", 1234.5),  # a European spreadsheet
        (";", None, "1234,5", 1234.5),
        ("\t", None, "1 234.5", 1234.5),
        ("|", ",", "1.234", 1234.0),  # forced: --decimal ,
        (",", None, "$1,234", 1234.0),
        (",", None, "12.5%", 12.5),
    ],
)
def test_number_formats_and_delimiters(tmp_path, caplog, sep, decimal, power, expected):
    table = _cars(40).assign(power=lambda d: d["power"].astype(float).astype(str))
    table.loc[0, "power"] = power
    if sep == ";" or decimal == ",":
        table["mpg"] = table["mpg"].astype(str).str.replace(".", ",")
        table["power"] = table["power"].where(
            table.index == 0, table["power"].str.replace(".", ",")
        )
    table.to_csv(tmp_path / "cars.csv", index=False, sep=sep)
    config = RegressConfig(dataset=str(tmp_path / "cars.csv"), target="mpg", quiet=True)
    if decimal:
        config = RegressConfig(**{**config.__dict__, "decimal": decimal})
    with caplog.at_level(logging.INFO, logger="tfapps"):
        splits = _load(config)
    assert {c.name: c.kind for c in splits.info.spec.columns}["power"] == "numeric"
    assert expected in set(np.round(_all(splits, "power"), 2))
    assert splits.info.spec.sep == sep
    assert {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[sep] in caplog.text


def test_number_format_detection():
    assert detect_number_format(["1.234,5", "3,25", "12"], ";").decimal == ","
    assert detect_number_format(["1,234.5", "3.25"], ",").decimal == "."
    assert detect_number_format(["1,234", "17"], ";").decimal == ","  # ambiguous: ; means EU
    assert detect_number_format(["1,234", "17"], ",").decimal == "."
    numbers, missing, bad = NumberFormat(",").parse(pd.Series(["1.234.567,5", "7", "abc", "?"]))
    assert numbers[0] == 1234567.5 and list(missing) == [False, False, False, True]
    assert list(bad) == [False, False, True, False]


def test_a_one_column_parse_that_holds_a_delimiter_names_it(tmp_path):
    (tmp_path / "r.csv").write_text("text;label\ngood film;pos\nawful;neg\n")
    with pytest.raises(InvalidInput, match=r"looks semicolon-separated: pass --sep ';'"):
        _load(SentimentConfig(dataset=str(tmp_path / "r.csv"), sep=",", quiet=True))


def _reviews(labels, texts=None) -> pd.DataFrame:
    texts = texts or [
        f"review number {i} " + ("great fun" if i % 2 else "dull") for i in range(len(labels))
    ]
    return pd.DataFrame({"text": texts, "label": labels})


@pytest.mark.slow
def test_labels_equal_by_value_or_case_are_one_class(tmp_path, caplog):
    labels = ["Negative", "negative", " positive", "positive ", "POSITIVE", "negative"] * 10
    (tmp_path / "r.csv").write_text(_reviews(labels).to_csv(index=False, sep=";"))
    with caplog.at_level(logging.INFO, logger="tfapps"):
        splits = _load(SentimentConfig(dataset=str(tmp_path / "r.csv"), quiet=True))
    assert splits.info.class_names == ["negative", "positive"]
    assert splits.info.summary.facts["classes"] == {"negative": 30, "positive": 30}
    assert "60 texts in 2 classes (negative 30, positive 30)" in caplog.text
    merged = [r.getMessage() for r in caplog.records if "are one class" in r.getMessage()]
    assert len(merged) == 1 and "(2 classes)" in merged[0]
    assert "['POSITIVE', 'positive'] are one class, 'positive'" in merged[0]
    stars = ["5", "5.0", " 5", "1", "1.0", "3"] * 10
    (tmp_path / "s.csv").write_text(_reviews(stars).to_csv(index=False))
    splits = _load(SentimentConfig(dataset=str(tmp_path / "s.csv"), quiet=True))
    assert splits.info.class_names == ["1", "3", "5"]


@pytest.mark.slow
def test_a_rare_class_reaches_validation_and_test_and_is_warned_of(tmp_path, caplog):
    labels = ["negative"] * 200 + ["positive"] * 4
    (tmp_path / "r.csv").write_text(_reviews(labels).to_csv(index=False))
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(SentimentConfig(dataset=str(tmp_path / "r.csv"), quiet=True))
    for split in ("validation", "test"):
        assert {int(y) for _, y in getattr(splits, split).as_numpy_iterator()} == {0, 1}
    assert "classes are imbalanced (negative 200, positive 4)" in caplog.text
    assert "--class-weight balanced" in caplog.text
    images = write_png_folder(tmp_path / "imgs", {"common": 200, "rare": 4}, size=(8, 8))
    splits = _load(ImageClassifyConfig(dataset=str(images), quiet=True))
    for split in ("validation", "test"):
        assert {int(y) for _, y in getattr(splits, split).as_numpy_iterator()} == {0, 1}


def test_every_column_kind_is_decided_and_said(tmp_path, caplog):
    rng = np.random.default_rng(1)
    rows = 80
    table = pd.DataFrame(
        {
            "id": [f"car-{i:04d}" for i in range(rows)],
            "size": rng.uniform(1, 5, rows).round(2),
            "colour": rng.choice(["red", "blue"], rows),
            "empty": [""] * rows,
            "same": ["7"] * rows,
            "price": rng.uniform(10, 20, rows).round(2),
        }
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    with caplog.at_level(logging.INFO, logger="tfapps"):
        splits = _load(RegressConfig(dataset=str(tmp_path / "t.csv"), target="price", quiet=True))
    kinds = {c["name"]: c["kind"] for c in splits.info.summary.facts["columns"]}
    assert kinds == {
        "id": "ignored",
        "size": "numeric",
        "colour": "categorical",
        "empty": "ignored",
        "same": "ignored",
    }
    assert [c.input for c in splits.info.spec.columns] == ["size", "colour"]
    assert "columns: id ignored (" in caplog.text and "colour categorical (2 values)" in caplog.text
    assert "column 'empty' ignored: no value in the training split" in caplog.text
    assert "column 'same' ignored: a single value (constant)" in caplog.text


def test_text_inputs_are_read_as_the_model_was_trained(tmp_path):
    from tfapps.tasks.text_inputs import text_inputs

    folder = tmp_path / "new"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes("\ufeffFirst line.\nSecond line.".encode())
    (folder / "sub" / "b.txt").write_text("Another review.")
    (tmp_path / "one.txt").write_bytes("\ufeffLine one\n\nLine two\n".encode())
    names, features = text_inputs(text_record("file"), "texts", [str(folder)], None)
    assert list(features["texts"]) == ["First line.\nSecond line.", "Another review."]
    assert names[0].endswith("a.txt")
    _, by_file = text_inputs(text_record("file"), "texts", [str(tmp_path / "one.txt")], None)
    _, by_line = text_inputs(text_record("row"), "texts", [str(tmp_path / "one.txt")], None)
    _, forced = text_inputs(text_record("file"), "texts", [str(tmp_path / "one.txt")], "line")
    assert list(by_file["texts"]) == ["Line one\n\nLine two\n"]
    assert list(by_line["texts"]) == list(forced["texts"]) == ["Line one", "Line two"]
    _, typed = text_inputs(text_record("row"), "texts", ["\ufeffA plain text"], None)
    assert list(typed["texts"]) == ["A plain text"]


@pytest.mark.slow
def test_a_byte_order_mark_is_never_part_of_training_texts_or_headers(tmp_path):
    csv = "\ufefftext,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(20))
    (tmp_path / "bom.csv").write_bytes(csv.encode())
    splits = _load(SentimentConfig(dataset=str(tmp_path / "bom.csv"), quiet=True))
    assert splits.info.class_names == ["a", "b"]
    folder = tmp_path / "folder"
    for label in "ab":
        (folder / label).mkdir(parents=True)
        for i in range(6):
            (folder / label / f"{i}.txt").write_bytes(f"\ufeff{label} text {i}".encode())
    splits = _load(SentimentConfig(dataset=str(folder), quiet=True))
    texts = [t.decode() for t, _ in splits.train.as_numpy_iterator()]
    assert texts and not any(t.startswith("\ufeff") for t in texts)
    assert splits.info.spec.unit == "file"


def test_table_inputs_read_numbers_as_training_did(tmp_path):
    from tfapps.data.numbers import NA_MARKERS
    from tfapps.tasks.table_inputs import table_inputs

    schema = TableSchema(
        target="price",
        columns=[
            ColumnSpec("power", "numeric", "power", median=95.5, markers=["unknown"]),
            ColumnSpec("origin", "categorical", "origin"),
        ],
        number_format=NumberFormat(",", ". "),
        na_values=list(NA_MARKERS),
    )
    record = RunRecord(
        task="regress",
        config={"task": "regress", "dataset": "x"},
        dataset=DatasetInfo(name="x", source="local", spec=schema),
    )
    (tmp_path / "rows.csv").write_text("power;origin\n1.234,5;USA\n?;Japan\nunknown; 3.0\n")
    names, features = table_inputs(record, ["power", "origin"], [str(tmp_path / "rows.csv")])
    assert names == ["rows.csv:1", "rows.csv:2", "rows.csv:3"]
    np.testing.assert_allclose(features["power"], [1234.5, np.nan, np.nan])  # the model imputes
    assert list(features["origin"]) == ["USA", "Japan", " 3.0"]  # as written: the model strips


def test_short_texts_get_parallel_convolutions_and_a_short_sequence():
    from tfapps.tasks.text_model import auto_conv_layout, auto_sequence_length

    sentences = np.random.default_rng(0).integers(5, 40, 1000)
    reviews = np.random.default_rng(0).integers(50, 2000, 1000)
    assert auto_conv_layout(np.median(sentences)) == "parallel"
    assert auto_conv_layout(np.median(reviews)) == "stacked"
    assert 35 <= auto_sequence_length(np.quantile(sentences, 0.99)) <= 40
    assert auto_sequence_length(np.quantile(reviews, 0.99)) == 500


@pytest.mark.slow
def test_class_weight_balanced_and_balanced_accuracy(tmp_path, run_cli):
    import json

    labels = ["negative"] * 120 + ["positive"] * 12
    texts = [  # each text written once: copies of a text are kept in one split
        f"dull awful boring {i}" if label == "negative" else f"great fun {i}"
        for i, label in enumerate(labels)
    ]
    (tmp_path / "r.csv").write_text(_reviews(labels, texts).to_csv(index=False))
    result = run_cli(
        "sentiment",
        "--dataset",
        tmp_path / "r.csv",
        "--class-weight",
        "balanced",
        "--architecture",
        "conv",
        "--epochs",
        3,
        "--output-dir",
        tmp_path / "runs",
    )
    assert result.exit_code == 0, result.output
    assert "balanced accuracy" in result.output
    run_dir = next((tmp_path / "runs" / "sentiment" / "r.csv").iterdir())
    record = json.loads((run_dir / "run.json").read_text())
    weights = record["training"]["class_weight"]
    assert weights["positive"] == pytest.approx(10 * weights["negative"], rel=0.15)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert "balanced_accuracy" in set(metrics["metric"])
    assert record["training"]["conv_layout"] == "parallel"


@pytest.mark.slow
def test_predict_on_a_text_folder_reads_one_text_a_file(tmp_path, run_cli):
    folder = tmp_path / "reviews"
    for label, words in (("neg", "dull awful boring"), ("pos", "great fun loved")):
        (folder / label).mkdir(parents=True)
        for i in range(15):
            (folder / label / f"{i}.txt").write_text(f"{words}\nline two {i}")
    trained = run_cli(
        "sentiment", "--dataset", folder, "--epochs", 3, "--quiet", "--output-dir", tmp_path / "o"
    )
    assert trained.exit_code == 0, trained.output
    run_dir = next((tmp_path / "o" / "sentiment" / "reviews").iterdir())
    new = tmp_path / "new"
    new.mkdir()
    (new / "x.txt").write_text("great fun\nloved it")
    (new / "y.txt").write_text("dull\nawful")
    result = run_cli("predict", run_dir, new, "--output", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2  # one text a file, as in training
    by_line = run_cli("predict", run_dir, new / "x.txt", "--text-per", "line")
    assert by_line.exit_code == 0 and "loved it" in by_line.output  # a text a line


@pytest.mark.parametrize("kind", ["text", "image"])
def test_max_examples_samples_every_class_of_a_file_sorted_by_class(tmp_path, kind):
    """`--max-examples` keeps a split's first rows: local rows come in a seeded random order,
    so a file or folder sorted by class still gives every split every class."""
    from tfapps.data.load import load_splits

    if kind == "text":
        from tfapps.tasks.text import SentimentConfig

        rows = [(f"text {label} number {i}", label) for label in "abc" for i in range(40)]
        path = tmp_path / "sorted.csv"
        pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
        config = SentimentConfig(dataset=str(path), max_examples=30, quiet=True)
    else:
        from PIL import Image

        from tfapps.tasks.image import ImageClassifyConfig

        for c, label in enumerate("abc"):
            (tmp_path / "imgs" / label).mkdir(parents=True)
            for i in range(40):
                pixels = np.full((8, 8, 3), (c * 80 + i) % 256, np.uint8)
                Image.fromarray(pixels).save(tmp_path / "imgs" / label / f"{i}.png")
        config = ImageClassifyConfig(dataset=str(tmp_path / "imgs"), max_examples=30, quiet=True)
    splits = load_splits(config)
    for name, dataset in splits.items():
        labels = {int(label) for _, label in dataset.as_numpy_iterator()}
        assert labels == {0, 1, 2} if name == "train" else len(labels) > 1, name  # sorted: 1
