"""What a newcomer reads: the first use of an embedded dataset, the number format said of a CSV,
a capped dataset, a one-column table's export, and the figures in the report page."""

from __future__ import annotations

import logging
import re
import warnings

import pandas as pd
import pytest
from conftest import fabricate_run

from tfapps.data.numbers import NumberFormat
from tfapps.progress import figure
from tfapps.tasks.table_regression import RegressConfig


def test_the_first_use_of_an_embedded_dataset_says_so_in_one_line(
    tmp_path, capfd, caplog, monkeypatch
):
    """Nothing is downloaded: neither TFDS' "Downloading and preparing dataset Unknown size"
    nor its progress bars are shown, and a second use says nothing."""
    from tensorflow_datasets.core.utils import tqdm_utils

    from tfapps.data.tfds_source import embedded_builder
    from tfapps.tasks import get_task

    monkeypatch.setattr(tqdm_utils, "_active", True)  # TFDS' bars on, as without --quiet
    digits = next(d for d in get_task("image-classify").embedded if d.name == "digits")
    capfd.readouterr()
    with caplog.at_level(logging.INFO, logger="tfapps"):
        builder = embedded_builder(digits, str(tmp_path))
        again = embedded_builder(digits, str(tmp_path))
    assert builder.is_prepared() and again.is_prepared()
    said = [r.getMessage() for r in caplog.records if r.name == "tfapps"]
    assert len(said) == 1 and said[0].startswith("preparing the embedded dataset digits from")
    assert "nothing is downloaded" in said[0]
    out, err = capfd.readouterr()
    for tfds_words in ("Downloading", "downloaded and prepared", "Generating", "Shuffling"):
        assert tfds_words not in out + err


@pytest.mark.parametrize(
    ("cells", "described"),
    [
        (["1", "22.5", "13170"], "decimal point"),
        (["1,234.5", "7"], "decimal point, thousands ','"),
        (["1 234.5", "1,234"], "decimal point, thousands ',' or ' '"),
        (["$1,234", "12.5%"], "decimal point, thousands ','"),
    ],
)
def test_the_number_format_names_only_the_separators_a_file_uses(cells, described):
    assert NumberFormat(".").describe(cells) == described


def test_a_csv_without_thousands_separators_is_not_said_to_have_them(tmp_path, caplog):
    from tfapps.data.load import load_splits

    rows = "".join(f"{i},{i * 3 + 7},{1000 + i}.5\n" for i in range(60))
    (tmp_path / "plain.csv").write_text("x,y,z\n" + rows)
    (tmp_path / "grouped.csv").write_text('x,y,z\n"1,234",5,6\n' + rows)
    for name, said in (("plain", "decimal point)"), ("grouped", "decimal point, thousands ','")):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tfapps"):
            load_splits(RegressConfig(dataset=str(tmp_path / f"{name}.csv"), target="y"))
        assert f"{name}.csv (delimiter comma (,), {said}" in caplog.text


def test_a_capped_dataset_says_how_much_of_it_is_used(tmp_path, caplog):
    from tfapps.data.load import load_splits

    rows = "".join(f"{i},{i * 3 + 7}\n" for i in range(100))
    (tmp_path / "t.csv").write_text("x,y\n" + rows)
    config = RegressConfig(dataset=str(tmp_path / "t.csv"), target="y", max_examples=30)
    with caplog.at_level(logging.INFO, logger="tfapps"):
        splits = load_splits(config)
    sizes = splits.info.sizes
    said = re.search(
        r"--max-examples 30: train 30 of (\d+), validation (\d+) of \d+, test (\d+)", caplog.text
    )
    assert said and int(said[1]) > 30
    assert (int(said[2]), int(said[3])) == (sizes["validation"], sizes["test"])


def test_a_model_on_one_named_column_exports_without_a_keras_warning(tmp_path):
    """A one-column table's model takes a dict of one input: its SavedModel is traced with
    that structure, so Keras has nothing to warn of."""
    import keras
    import tensorflow as tf

    from tfapps.export import write_saved_model

    inputs = {"x": keras.Input(shape=(), name="x")}
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.ops.expand_dims(inputs["x"], -1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_saved_model(model, tmp_path / "saved_model")
    signature = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["x"]
    outputs = signature(x=tf.constant([1.0, 2.0]))["predictions"]
    assert outputs.shape == (2, 1)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (13170.0, "13,170"),
        (1317.25, "1317"),
        (0.68491, "0.6849"),
        (2.0, "2"),
        (-25000.4, "-25,000"),
    ],
)
def test_figures_are_never_in_exponent_notation_from_ten_thousand_on(value, shown):
    assert figure(value) == shown


def test_the_report_shows_large_figures_whole(tmp_path):
    from tfapps.report_page import write_report

    output_dir = tmp_path / "saved_models"
    fabricate_run(output_dir, "regress", "houses", "dense", "20261129T000000Z", 13170.0)
    for fmt in ("html", "markdown"):
        page = write_report(output_dir, fmt).read_text()
        assert "13,170" in page and "e+04" not in page
    assert pd.read_csv(output_dir / "summary.csv")["value"].iloc[0] == 13170.0  # CSV unrounded
