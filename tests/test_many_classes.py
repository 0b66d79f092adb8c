"""Many classes: the report's figure and the data summary stay the same size whatever the
number of classes (300 here); the full matrix stays in confusion_matrix.csv."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from tfapps import report_plots
from tfapps.data.summary import class_warnings, merged_labels_warnings

CLASSES = 300


def _confusion(classes: int, seed: int = 0) -> pd.DataFrame:
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(seed)
    labels = rng.zipf(1.5, 5000) % classes
    predicted = np.where(rng.random(5000) < 0.7, labels, rng.integers(0, classes, 5000))
    names = [f"class {i}" for i in range(classes)]
    matrix = confusion_matrix(labels, predicted, labels=np.arange(classes))
    return pd.DataFrame(matrix, index=pd.Index(names, name="true"), columns=names)


def test_the_figure_shows_the_most_frequent_classes_and_adds_up_the_others():
    confusion = _confusion(CLASSES)
    shown = report_plots._most_frequent_classes(confusion, report_plots.SHOWN_CLASSES)
    assert shown.shape == (report_plots.SHOWN_CLASSES + 1, report_plots.SHOWN_CLASSES + 1)
    assert shown.to_numpy().sum() == confusion.to_numpy().sum()  # nothing lost
    support = confusion.sum(axis=1).sort_values(ascending=False, kind="stable")
    assert set(shown.index[:-1]) == set(support.index[: report_plots.SHOWN_CLASSES])
    assert shown.index[-1] == f"{CLASSES - report_plots.SHOWN_CLASSES} others"
    kept = list(shown.index[:-1])
    assert (shown.loc[kept, kept] == confusion.loc[kept, kept]).all().all()
    small = _confusion(12)
    assert report_plots._most_frequent_classes(small, report_plots.SHOWN_CLASSES).equals(small)


@pytest.mark.parametrize(
    "classes",
    [3, pytest.param(40, marks=pytest.mark.slow), pytest.param(CLASSES, marks=pytest.mark.slow)],
)
def test_the_figure_is_no_larger_for_many_classes(tmp_path, classes):
    from PIL import Image

    path = tmp_path / "confusion_matrix.png"
    report_plots.plot_confusion_matrix(_confusion(classes), path)
    width, height = Image.open(path).size
    limit = 100 * (report_plots.FIGURE_INCHES + 1)  # inches at 100 dpi
    assert width <= limit and height <= limit


def test_small_classes_are_one_warning_line_with_a_count_and_examples():
    counts = {f"c{i:03d}": 1 + (i % 2) * 20 for i in range(CLASSES)}
    small = [name for name, count in counts.items() if count == 1]
    warnings = class_warnings(counts, small, "text")
    assert len(warnings) == 2  # the small classes, and the imbalance
    assert warnings[0].startswith("150 classes have too few texts to reach both validation")
    assert "'c000' (1), 'c002' (1)" in warnings[0] and "and 145 more" in warnings[0]
    one = class_warnings({"a": 2, "b": 50}, ["a"], "image")[0]
    assert one.startswith("class 'a' has 2 images: too few to reach both validation and test")
    merged = {f"c{i}": [f"C{i}", f"c{i}"] for i in range(CLASSES)}
    assert len(merged_labels_warnings(merged)) == 1
    assert "(300 classes)" in merged_labels_warnings(merged)[0]


@pytest.mark.slow
def test_a_300_class_run_reports_in_full_with_one_warning_line(tmp_path, run_cli, caplog):
    rng = np.random.default_rng(0)
    rows = [
        {"text": f"word{c} token{c} " + " ".join(rng.choice(list("abcd"), 4)), "label": f"l{c:03d}"}
        for c in range(CLASSES)
        for _ in range(2 if c % 2 else 8)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "many.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        result = run_cli(
            "sentiment", "--dataset", tmp_path / "many.csv", "--epochs", 1, "--max-tokens", 1000,
            "--sequence-length", 12, "--embedding-dim", 8, "--output-dir", tmp_path / "o",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [r.getMessage() for r in caplog.records if "too few" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("150 classes have too few texts")
    run_dir = next((tmp_path / "o" / "sentiment" / "many.csv").iterdir())
    assert len(pd.read_csv(run_dir / "per_class.csv")) == CLASSES
    assert pd.read_csv(run_dir / "confusion_matrix.csv", index_col=0).shape == (CLASSES, CLASSES)
    assert run_cli("report", tmp_path / "o").exit_code == 0
    page = (tmp_path / "o" / "report.html").read_text()
    assert page.count("<tr>") > CLASSES  # the per-class table, whole


def test_splits_carved_far_from_the_shares_asked_are_said_in_the_small_classes_line():
    from tfapps.data.stratify import stratified_rows, uneven_splits

    labels = np.repeat(np.arange(400), 3)
    rows, too_small = stratified_rows(labels, seed=0, validation_split=0.1)
    sizes = {name: len(part) for name, part in rows.items()}
    assert sizes == {"train": 400, "validation": 400, "test": 400} and not too_small
    uneven = uneven_splits(sizes, 0.1, "row")
    assert uneven == (
        "the splits came out as 400/400/400 rows (train/validation/test) instead of about 72/8/20%"
    )
    counts = {f"c{i:03d}": 3 for i in range(400)}
    (line,) = class_warnings(counts, [], "row", uneven)
    assert line.startswith(uneven + ": all 400 classes have fewer than 5 rows (such as 'c000'")
    assert line.endswith("and a class this small puts one row in each split")
    counts["c000"] = 2
    (line,) = class_warnings(counts, ["c000"], "row", uneven)
    assert line.startswith("class 'c000' has 2 rows: too few to reach both validation and test;")
    assert uneven in line
    for classes, size in ((4, 50), (30, 10), (10, 5)):  # shares near those asked: not said
        rows, _ = stratified_rows(np.repeat(np.arange(classes), size), 0, 0.1)
        assert uneven_splits({n: len(p) for n, p in rows.items()}, 0.1, "row") is None, size


def test_a_table_of_400_classes_of_3_rows_says_how_its_splits_came_out(tmp_path):
    from tfapps.data.load import load_splits
    from tfapps.tasks.table_classification import TableClassifyConfig

    rows = [(c + i / 10, (c * 7) % 13, f"c{c:03d}") for c in range(400) for i in range(3)]
    pd.DataFrame(rows, columns=["x", "z", "label"]).to_csv(tmp_path / "many.csv", index=False)
    config = TableClassifyConfig(dataset=str(tmp_path / "many.csv"), target="label", quiet=True)
    warnings = load_splits(config).info.summary.warnings
    said = [w for w in warnings if "came out as" in w]
    assert len(said) == 1 and "400/400/400 rows (train/validation/test)" in said[0], warnings
    assert "72/8/20%" in said[0] and "all 400 classes have fewer than 5 rows" in said[0]
    rows = [(c + i / 10, i % 3, f"c{c}") for c in range(4) for i in range(40)]
    pd.DataFrame(rows, columns=["x", "z", "label"]).to_csv(tmp_path / "few.csv", index=False)
    config = TableClassifyConfig(dataset=str(tmp_path / "few.csv"), target="label", quiet=True)
    assert not [w for w in load_splits(config).info.summary.warnings if "came out" in w]
