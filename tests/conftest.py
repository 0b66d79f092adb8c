"""Shared fixtures: a TFDS data dir prepared once per session, CLI runners, generated images."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> str:
    """A TFDS data dir shared by the whole session, so embedded datasets are prepared once."""
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture
def output_dir(tmp_path) -> Path:
    return tmp_path / "saved_models"


@pytest.fixture
def run_cli():
    """Runs `tfapps ARGS...` in-process and returns the Click result (stderr kept apart)."""
    from tfapps.cli import main

    def run(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


def write_png_folder(
    root: Path, classes: dict[str, int], size=(12, 10), rgb_every: int = 0, seed: int = 0
) -> Path:
    """Writes `root/<class>/<i>.png` images whose brightness pattern depends on the class.

    Args:
        classes: class name to number of images.
        size: (height, width) of most images; every 7th image is 2 pixels taller, to exercise
            resizing to the most common size.
        rgb_every: write every n-th image as RGB (0: all grayscale).
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    for index, (name, count) in enumerate(sorted(classes.items())):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            height = size[0] + (2 if i % 7 == 6 else 0)
            pixels = rng.integers(0, 60, (height, size[1]), dtype=np.uint8)
            pixels[:, index * 3 : (index * 3) + 3] = 255  # a bright column band per class
            image = Image.fromarray(pixels, mode="L")
            if rgb_every and i % rgb_every == 0:
                image = image.convert("RGB")
            image.save(folder / f"{i}.png")
    return root


def train_on_mocked_catalog(
    run_cli, command: str, dataset: str, tmp_path: Path, *extra, num_examples: int = 40
) -> dict:
    """Trains `command` for one epoch on a TFDS catalog dataset faked by
    `tfds.testing.mock_data` (nothing is downloaded) and returns the run's run.json."""
    import json

    import tensorflow_datasets as tfds

    output_dir = tmp_path / "saved_models"
    with (
        tfds.testing.mock_data(num_examples=num_examples * MOCKED_SPLITS),
        _distinct_splits(num_examples),
    ):
        result = run_cli(
            command,
            "--dataset",
            dataset,
            "--epochs",
            1,
            "--quiet",
            "--data-dir",
            tmp_path / "tfds",
            "--output-dir",
            output_dir,
            *extra,
        )
    assert result.exit_code == 0, result.output
    run_dir = next((output_dir / command / dataset).iterdir())
    assert (run_dir / "saved_model" / "saved_model.pb").is_file()
    return json.loads((run_dir / "run.json").read_text())


MOCKED_SPLITS = 4  # distinct parts of the mocked examples, one a split (or split slice)


@contextlib.contextmanager
def _distinct_splits(num_examples: int):
    """Gives each split (or slice) that `tfds.testing.mock_data` mocks examples of its own:
    the mock yields the same examples for every split, which tfapps would read as copies of
    the test split (`data.duplicates`)."""
    from unittest import mock

    from tensorflow_datasets.core.dataset_builder import FileReaderBuilder

    mocked, parts = FileReaderBuilder._as_dataset, {}

    def distinct(self, split, *args, **kwargs):
        part = parts.setdefault(str(split), len(parts) % MOCKED_SPLITS)
        dataset = mocked(self, split, *args, **kwargs)
        return dataset.skip(part * num_examples).take(num_examples)

    with mock.patch.object(FileReaderBuilder, "_as_dataset", distinct):
        yield


def fabricate_run(
    output_dir: Path, task: str, dataset: str, architecture: str, run_id: str, value: float
) -> Path:
    """Writes a finished run directory as tfapps would, without training: run.json,
    metrics.csv, per_class.csv (classifiers) and real PNG plots (2 for a classifier:
    learning curves and confusion matrix; 3 for a regressor: learning curves,
    predicted-vs-true and residuals). For report tests, which need no model."""
    import pandas as pd

    from tfapps import report_plots, runs
    from tfapps.data.info import DatasetInfo

    run_dir = output_dir / task / dataset / run_id
    plots = run_dir / runs.PLOTS_DIR
    plots.mkdir(parents=True)
    metric = "mae" if task == "regress" else "accuracy"
    runs.RunRecord(
        task=task,
        run_id=run_id,
        status=runs.COMPLETE,
        started_at="2026-11-29T00:00:00Z",
        finished_at="2026-11-29T00:01:00Z",
        config={"task": task, "dataset": dataset, "architecture": architecture},
        dataset=DatasetInfo(name=dataset, source="embedded", class_names=["a", "b"]),
        timings={"train_seconds": 10.0, "total_seconds": 12.0},
        training={"epochs_run": 3, "parameters": 1000, "examples_per_second": 500.0},
        headline={"split": "test", "metric": metric, "value": value},
    ).write(run_dir)
    pd.DataFrame(
        {"split": ["validation", "test"], "metric": [metric] * 2, "value": [value, value]}
    ).to_csv(run_dir / runs.METRICS_CSV, index=False)
    history = pd.DataFrame({"epoch": [0, 1, 2], "loss": [1.0, 0.6, 0.4], "val_loss": [1, 0.7, 0.5]})
    report_plots.plot_learning_curves(history, plots / "learning_curves.png")
    rng = np.random.default_rng(0)
    if task == "regress":
        targets = rng.normal(20, 5, 30)
        report_plots.plot_regression(targets, targets + rng.normal(0, 2, 30), plots)
    else:
        confusion = pd.DataFrame([[8, 2], [1, 9]], index=["a", "b"], columns=["a", "b"])
        report_plots.plot_confusion_matrix(confusion, plots / "confusion_matrix.png")
        pd.DataFrame(
            {"class": ["a", "b"], "precision": [0.9, 0.8], "recall": [0.8, 0.9], "f1": 0.85}
        ).assign(support=10).to_csv(run_dir / runs.PER_CLASS_CSV, index=False)
    return run_dir


def tiny_table(rows: int = 40, seed: int = 0):
    """A table of a number, a category and the target y = 2x + 1."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows)
    return pd.DataFrame({"x": x, "kind": rng.choice(["a", "b"], rows), "y": 2 * x + 1})


def tiny_classes(rows: int = 80, seed: int = 0):
    """A table whose label (`yes`/`no`) follows x, with 12 missing x (a missing-indicator), a
    category and a column of 8 cities (an Embedding)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows)
    table = pd.DataFrame(
        {
            "x": np.where(np.arange(rows) % 7 == 3, np.nan, x),
            "kind": rng.choice(["a", "b"], rows),
            "city": rng.choice([f"c{i}" for i in range(8)], rows),
            "label": np.where(x > 5, "yes", "no"),
        }
    )
    return table


def tiny_reviews(rows: int = 40):
    """Reviews whose words give their label away (each a different text: copies of a text
    are kept in one split)."""
    import pandas as pd

    words = {"pos": "great fun loved", "neg": "dull awful boring"}
    return pd.DataFrame(
        {
            "text": [f"{words['pos' if i % 2 else 'neg']} number {i}" for i in range(rows)],
            "label": ["pos" if i % 2 else "neg" for i in range(rows)],
        }
    )


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """One tiny finished run per task (one epoch on generated data), for predict, evaluate,
    serve and export: `{"image", "text", "ngram", "table", "classes"}` to their run
    directories ("text" is the conv model, "ngram" what `--architecture auto` picks for these
    few texts, "classes" table-classify)."""
    from tfapps.api import train
    from tfapps.tasks.image import ImageClassifyConfig
    from tfapps.tasks.table_classification import TableClassifyConfig
    from tfapps.tasks.table_regression import RegressConfig
    from tfapps.tasks.text import SentimentConfig

    root = tmp_path_factory.mktemp("tiny")
    images = write_png_folder(root / "images", {"a": 12, "b": 12}, size=(8, 8))
    (root / "reviews.csv").write_text(tiny_reviews().to_csv(index=False))
    tiny_table().to_csv(root / "table.csv", index=False)
    tiny_classes().to_csv(root / "classes.csv", index=False)
    common = {"epochs": 1, "quiet": True, "output_dir": str(root / "runs")}
    text = {"max_tokens": 200, "sequence_length": 20, "embedding_dim": 8, "architecture": "conv"}
    reviews = str(root / "reviews.csv")
    return {
        "image": train(ImageClassifyConfig(dataset=str(images), **common)).run_dir,
        "text": train(SentimentConfig(dataset=reviews, **text, **common)).run_dir,
        "ngram": train(SentimentConfig(dataset=reviews, max_tokens=200, **common)).run_dir,
        "table": train(
            RegressConfig(dataset=str(root / "table.csv"), target="y", **common)
        ).run_dir,
        "classes": train(
            TableClassifyConfig(
                dataset=str(root / "classes.csv"),
                target="label",
                numeric_encoding="periodic",  # every layer the exports must hold
                **common,
            )
        ).run_dir,
    }


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory) -> Path:
    """A table model whose target is of the order of 1e15: an input of 1e38 (float32 holds
    it) takes its prediction past float32's range."""
    import pandas as pd

    from tfapps.api import train
    from tfapps.tasks.table_regression import RegressConfig

    root = tmp_path_factory.mktemp("wide")
    x = np.random.default_rng(0).uniform(0, 10, 40)
    pd.DataFrame({"x": x, "y": 1e15 * x}).to_csv(root / "wide.csv", index=False)
    config = RegressConfig(
        dataset=str(root / "wide.csv"), target="y", epochs=1, quiet=True, output_dir=str(root)
    )
    return train(config).run_dir


def text_record(unit: str):
    """The run.json record of a text model whose `TextSpec` reads one text a `unit`
    (`"row"` or `"file"`), as `text_inputs` takes it."""
    from tfapps.data.info import DatasetInfo
    from tfapps.data.specs import TextSpec
    from tfapps.runs import RunRecord

    return RunRecord(
        task="sentiment",
        config={"task": "sentiment", "dataset": "x"},
        dataset=DatasetInfo(name="x", source="local", spec=TextSpec(unit=unit)),
    )
