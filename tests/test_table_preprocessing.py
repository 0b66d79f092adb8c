"""A table model computes what tfapps computes, wherever it runs: categories keep their written
form (codes with leading zeros, exponents, numbers read as categories), merged-looking
spellings are warned about, missing numbers are filled inside the model, and the notes that
come with an exported encoded model are followed literally here and agree with the SavedModel.
Also: plain numbers take the parser's fast path, and `--max-examples` samples rows before any
column is parsed."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pandas as pd
import pytest

from tfapps.data.numbers import NumberFormat
from tfapps.data.specs import ColumnSpec
from tfapps.tasks.table_regression import RegressConfig

ZIP_VALUE = {"01234": 10, "1234": 30, "00501": 20, "501": 40, " 02139 ": 50}
PART_VALUE = {"1E3": 5, "1000": -5, "0042": 8, "42": -8, "NA": 0, "": 3}


def write_codes(path, rows: int = 80, seed: int = 0):
    """Zip codes (leading zeros, spaces around one), part numbers (an exponent, leading zeros,
    "NA" and empty cells) and a number with gaps; the price depends on each as written."""
    rng = np.random.default_rng(seed)
    zips = rng.choice(list(ZIP_VALUE), rows)
    parts = rng.choice(list(PART_VALUE), rows)
    size = rng.uniform(1, 10, rows)
    values = zip(zips, parts, size, strict=True)
    price = [ZIP_VALUE[z] + PART_VALUE[p] + 2 * s for z, p, s in values]
    cells = [f"{v:.2f}" if i % 7 else "" for i, v in enumerate(size)]
    table = pd.DataFrame({"zip": zips, "part": parts, "size": cells, "price": np.round(price, 3)})
    table.to_csv(path, index=False)
    return path


def _load(config):
    from tfapps.data.load import load_splits

    return load_splits(config)


def _codes_config(path, **options) -> RegressConfig:
    return RegressConfig(
        dataset=str(path), target="price", categorical=("zip", "part"), quiet=True, **options
    )


def test_categories_keep_their_written_form_and_look_alikes_are_warned(tmp_path, caplog):
    path = write_codes(tmp_path / "codes.csv")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(_codes_config(path))
    columns = {c.name: c for c in splits.info.spec.columns}
    assert columns["zip"].categories == 5  # '02139' and ' 02139 ' are one
    assert columns["part"].categories == 4  # 'NA' and '' count as missing (kept as written)
    zips = {z.decode() for z in np.concatenate([f["zip"] for f, _ in splits.train.batch(999)])}
    assert zips <= set(ZIP_VALUE) and "01234" in zips  # the cells as written, spaces and all
    warnings = [r.getMessage() for r in caplog.records]
    zip_line = next(w for w in warnings if w.startswith("column 'zip' keeps"))
    assert "'01234' and '1234' (the number 1234)" in zip_line
    assert "'00501' and '501' (the number 501)" in zip_line
    part_line = next(w for w in warnings if w.startswith("column 'part' keeps"))
    assert "'1000' and '1E3' (the number 1000)" in part_line
    assert "'0042' and '42' (the number 42)" in part_line
    assert "'' and 'NA' (missing)" in part_line


def test_a_numeric_column_of_codes_with_leading_zeros_is_warned_of(tmp_path, caplog):
    path = write_codes(tmp_path / "codes.csv")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(RegressConfig(dataset=str(path), target="price", quiet=True))
    assert {c.name: c.kind for c in splits.info.spec.columns}["zip"] == "numeric"
    assert "column 'zip' is read as numbers, but 3 of its values begin with a 0" in caplog.text
    assert "('00501', '01234', '02139')" in caplog.text and "--categorical zip" in caplog.text


def test_leading_zeros_are_counted_and_named_once_whatever_the_spaces_around_them(tmp_path, caplog):
    codes = [" 007", "7", "007 ", "007", "42", "042", "0042"]
    rows = [f"{codes[i % 7]},{i % 5},{i % 7 + i / 100}" for i in range(70)]
    (tmp_path / "codes.csv").write_text("code,b,y\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        _load(RegressConfig(dataset=str(tmp_path / "codes.csv"), target="y", quiet=True))
    (line,) = [r.getMessage() for r in caplog.records if "begin" in r.getMessage()]
    assert "3 of its values begin with a 0 ('0042', '007', '042')" in line, line
    rows = [f"{('007', ' 007 ', '8', '9')[i % 4]},{i % 5},{i % 7 + i / 100}" for i in range(60)]
    (tmp_path / "one.csv").write_text("code,b,y\n" + "\n".join(rows) + "\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        _load(RegressConfig(dataset=str(tmp_path / "one.csv"), target="y", quiet=True))
    assert "1 of its values begins with a 0 ('007')" in caplog.text


def test_plain_numbers_skip_the_parsing_rules(monkeypatch):
    seen = []
    original = NumberFormat._parse_text

    def recording(self, text, markers):
        seen.extend(text)
        return original(self, text, markers)

    monkeypatch.setattr(NumberFormat, "_parse_text", recording)
    cells = [f"{v:.3f}" for v in np.random.default_rng(0).normal(0, 100, 20_000)]
    cells[:4] = ["1e3", " 7 ", "NA", "1,234"]
    numbers, missing, bad = NumberFormat().parse(pd.Series(cells, dtype=str))
    assert sorted(seen) == ["1,234", "NA"]  # only the cells a rule changes
    assert list(numbers[:4].fillna(-1)) == [1000.0, 7.0, -1, 1234.0]
    assert int(missing.sum()) == 1 and not bad.any()
    words = pd.Series(["north", "south"] * 10_000, dtype=str)
    seen.clear()
    NumberFormat().parse(words)
    assert sorted(seen) == ["north", "south"]  # each distinct cell read once


def test_max_examples_samples_rows_before_any_column_is_parsed(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    rows = 5_000
    table = pd.DataFrame(
        {
            "a": rng.normal(0, 1, rows).round(4),
            "city": rng.choice(["north", "south"], rows),
            "y": rng.normal(10, 2, rows).round(3),
        }
    )
    table.to_csv(tmp_path / "big.csv", index=False)
    parsed = []
    original = NumberFormat.parse

    def recording(self, values, *args):
        parsed.append(len(values))
        return original(self, values, *args)

    monkeypatch.setattr(NumberFormat, "parse", recording)
    config = RegressConfig(dataset=str(tmp_path / "big.csv"), target="y", quiet=True)
    sampled = _load(RegressConfig(**{**config.__dict__, "max_examples": 100}))
    assert sampled.info.sizes["train"] == 100 and max(parsed) == 100
    assert sampled.info.summary.facts["rows"] == rows
    sizes = sampled.info.sizes
    line = f"--max-examples 100: train 100 of 3,600, validation {sizes['validation']} of 400"
    assert sampled.info.summary.lines[1].startswith(line)
    assert sampled.info.summary.lines[1].endswith("of 1,000 (sampled)")

    def first_values(splits):
        return next(iter(splits.train.batch(100)))[0]["a"].numpy()

    again = _load(RegressConfig(**{**config.__dict__, "max_examples": 100}))
    other = _load(RegressConfig(**{**config.__dict__, "max_examples": 100, "seed": 2}))
    np.testing.assert_array_equal(first_values(sampled), first_values(again))
    assert not np.array_equal(first_values(sampled), first_values(other))
    # A seeded sample of the shuffled rows, not the file's first rows.
    assert not set(first_values(sampled)) <= set(table["a"].head(1_000).astype(np.float32))


def test_a_file_pyarrow_refuses_is_read_by_pandas_own_reader(tmp_path):
    from tfapps.data.csv_files import read_csv_file

    (tmp_path / "odd.csv").write_text("a,b,c\n1,2\n   \n4,5,6\n")  # a short row, a blank line
    frame = read_csv_file(tmp_path / "odd.csv").frame
    assert frame.values.tolist() == [["1", "2", ""], ["4", "5", "6"]]


SPACES = {
    "space": " ",
    "tab": "\t",
    "line feed": "\n",
    "carriage return": "\r",
    "vertical tab": "\v",
    "form feed": "\f",
}


def follow_the_note(note: str, categories: dict, table: pd.DataFrame, columns: list) -> dict:
    """Encodes a CSV's rows exactly as preprocessing.txt says, in plain Python."""
    named = re.search(r"remove the ASCII whitespace around it \(([^)]*)\)", note).group(1)
    whitespace = "".join(SPACES[name] for name in named.split(", "))
    assert "NaN for a missing value" in note and "counting from 0" in note
    inputs = {}
    for column in columns:
        cells = table[column["name"]]
        if column["kind"] == "categorical":
            listed = categories[column["input"]]
            assert listed[0] == "[UNK]"
            rows = np.zeros((len(cells), len(listed)), np.float32)
            for row, cell in enumerate(cells):
                value = cell.strip(whitespace)
                rows[row, listed.index(value) if value in listed else 0] = 1
            inputs[column["input"]] = rows
        else:
            inputs[column["input"]] = np.array(
                [float(cell) if cell.strip() else np.nan for cell in cells], np.float32
            )
    return inputs


@pytest.mark.slow
def test_served_and_exported_models_compute_what_tfapps_computes(tmp_path, run_cli):
    import tensorflow as tf

    path = write_codes(tmp_path / "codes.csv")
    output = tmp_path / "runs"
    result = run_cli(
        "regress", "--dataset", path, "--target", "price", "--categorical", "zip,part",
        "--epochs", 40, "--learning-rate", 0.01, "--quiet", "--output-dir", output,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = next((output / "regress" / "codes.csv").iterdir())
    columns = json.loads((run_dir / "run.json").read_text())["dataset"]["spec"]["columns"]
    predicted = tmp_path / "predicted.csv"
    assert run_cli("predict", run_dir, path, "--output", predicted).exit_code == 0
    tfapps = pd.read_csv(predicted)["prediction"].to_numpy()

    # A TF Serving client sends the file's cells: strings as written, NaN where a number is
    # missing.
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    signature = tf.saved_model.load(str(run_dir / "saved_model")).signatures["serving_default"]
    feed = {
        c["input"]: tf.constant(
            table[c["name"]].to_numpy(object).astype(str)
            if c["kind"] == "categorical"
            else pd.to_numeric(table[c["name"]], errors="coerce").to_numpy(np.float32)
        )
        for c in columns
    }
    served = signature(**feed)["predictions"].numpy()[:, 0]
    np.testing.assert_allclose(served, tfapps, rtol=1e-5, atol=1e-4)
    assert np.ptp(tfapps) > 5  # the categories as written make a difference

    for fmt, suffix in (("onnx", ".onnx"), ("litert", ".tflite")):
        exported = tmp_path / fmt
        result = run_cli("export", run_dir, "--format", fmt, "--output", exported)
        assert result.exit_code == 0, result.output
        categories = json.loads((exported / "categories.json").read_text())
        assert {"01234", "1234", "00501", "501", "02139"} <= set(categories["zip"])
        assert {"1E3", "1000", "0042", "42", "NA", ""} <= set(categories["part"])
        note = (exported / "preprocessing.txt").read_text()
        inputs = follow_the_note(note, categories, table, columns)
        outputs = _run(exported / f"encoded_model{suffix}", fmt, inputs)
        np.testing.assert_allclose(outputs[:, 0], served, rtol=1e-5, atol=1e-4)


def _run(path, fmt: str, inputs: dict) -> np.ndarray:
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {i.name: inputs[i.name] for i in session.get_inputs()})[0]
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return next(iter(runner(**inputs).values()))


@pytest.mark.slow
def test_a_model_whose_rarest_category_is_missing_saves_and_loads(tmp_path):
    import keras

    import tfapps.tasks.table_layers  # noqa: F401
    from tfapps.tasks.table_classifier_model import build_table_classifier
    from tfapps.tasks.table_model import build_regressor

    cells = np.array(["a", "a", "a", "b", "b", ""], dtype=object)  # "" last in the vocabulary
    features = {"x": np.arange(6, dtype=np.float32), "kind": cells}
    column = ColumnSpec("kind", "categorical", "kind", categories=3)
    models = {
        "regressor": build_regressor(features, ["kind"]),
        "classifier": build_table_classifier(
            features, [ColumnSpec("x", "numeric", "x", median=2.5), column], 2
        ).model,
    }
    for name, model in models.items():
        model.save(tmp_path / f"{name}.keras")
        loaded = keras.models.load_model(tmp_path / f"{name}.keras", safe_mode=True)
        vocabulary = loaded.get_layer("kind_lookup").get_vocabulary()
        assert vocabulary == ["[UNK]", "a", "b", ""], name
        rows = {"x": np.array([1.0, np.nan], np.float32), "kind": np.array(["", "b"], object)}
        np.testing.assert_allclose(loaded.predict(rows, verbose=0), model.predict(rows, verbose=0))
