"""`tfapps train-all`, `tfapps report` (checked in headless Chromium) and the suite's plan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import ARTIFACTS, fabricate_run

from tfapps import suite
from tfapps.errors import InvalidInput
from tfapps.tasks.image import ImageClassifyConfig
from tfapps.tasks.table_classification import TableClassifyConfig
from tfapps.tasks.table_regression import RegressConfig
from tfapps.tasks.text import SentimentConfig

FABRICATED = [
    ("image-classify", "digits", "conv", 0.98),
    ("image-classify", "digits", "dense", 0.95),
    ("sentiment", "movie_reviews", "conv", 0.85),
    ("sentiment", "movie_reviews", "dense", 0.83),
    ("sentiment", "movie_reviews", "ngram", 0.89),
    ("regress", "auto_mpg", "dense", 2.1),
]


@pytest.fixture(scope="module")
def fabricated_runs(tmp_path_factory) -> Path:
    """Six finished runs (as train-all --compare-architectures leaves them), written without
    training, and their report.html."""
    from tfapps.report_page import write_report

    output_dir = tmp_path_factory.mktemp("report") / "saved_models"
    for index, (task, dataset, architecture, value) in enumerate(FABRICATED):
        fabricate_run(output_dir, task, dataset, architecture, f"20261129T00000{index}Z", value)
    write_report(output_dir)
    return output_dir


@pytest.fixture(scope="module")
def quick_suite(data_dir, tmp_path_factory):
    """`tfapps train-all --quick --compare-architectures`, run once for this module."""
    from click.testing import CliRunner

    from tfapps.cli import main

    output_dir = tmp_path_factory.mktemp("suite") / "saved_models"
    result = CliRunner().invoke(
        main,
        [
            "train-all",
            "--quick",
            "--compare-architectures",
            "--quiet",
            "--output-dir",
            str(output_dir),
            "--data-dir",
            data_dir,
        ],
        catch_exceptions=False,
    )
    return result, output_dir


@pytest.mark.slow
def test_train_all_quick_trains_every_task_and_both_architectures(quick_suite):
    result, output_dir = quick_suite
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(output_dir / "summary.csv")
    assert sorted(
        zip(summary["task"], summary["dataset"], summary["architecture"], strict=True)
    ) == [
        ("image-classify", "digits", "conv"),
        ("image-classify", "digits", "dense"),
        ("regress", "auto_mpg", "dense"),
        ("sentiment", "movie_reviews", "conv"),
        ("sentiment", "movie_reviews", "dense"),
        ("sentiment", "movie_reviews", "ngram"),
        ("table-classify", "penguins", "dense"),
    ]
    assert summary["parameters"].gt(0).all() and summary["examples_per_second"].gt(0).all()
    assert "Summary:" in result.output and "report.html" in result.output
    assert (output_dir / "report.html").is_file()


def test_report_compares_architectures_and_embeds_every_plot(fabricated_runs):
    output_dir = fabricated_runs
    page = (output_dir / "report.html").read_text(encoding="utf-8")
    assert "Architectures side by side" in page
    assert "value (ngram)" in page and "value (conv)" in page
    plots = list(output_dir.glob("*/*/*/plots/*.png"))
    assert len(plots) == 13  # 5 classifiers x 2 plots, 1 regressor x 3 plots
    assert page.count("data:image/png;base64,") == len(plots)


def test_report_command_rebuilds_summary_and_writes_each_format(fabricated_runs, run_cli):
    output_dir = fabricated_runs
    (output_dir / "summary.csv").unlink()
    for fmt, name in (("markdown", "report.md"), ("csv", "summary.csv"), ("html", "report.html")):
        result = run_cli("report", output_dir, "--format", fmt)
        assert result.exit_code == 0, result.output
        assert (output_dir / name).is_file()
    assert len(pd.read_csv(output_dir / "summary.csv")) == 6
    markdown = (output_dir / "report.md").read_text(encoding="utf-8")
    assert "## Architectures side by side" in markdown and "](image-classify/digits/" in markdown


def test_report_renders_in_headless_chromium(fabricated_runs):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip(
            "Chromium and ChromeDriver are not installed (.ci/run installs Debian's "
            "chromium and chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    output_dir = fabricated_runs
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1280,2000",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.get((output_dir / "report.html").resolve().as_uri())
        tables = browser.execute_script(
            "return Array.from(document.querySelectorAll('table.data'))"
            ".map(t => [t.rows.length, t.getBoundingClientRect().height])"
        )
        images = browser.execute_script(
            "return Array.from(document.images)"
            ".map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "report.png"))
    finally:
        browser.quit()
    assert len(tables) >= 10 and all(rows > 1 and height > 0 for rows, height in tables)
    assert len(images) == 13
    assert all(done and width > 0 and height > 0 for done, width, height in images)


def test_one_failing_task_does_not_lose_the_others(run_cli, tmp_path, monkeypatch):
    import tfapps.api

    def fake_train(config, resume=None):
        if config.task == "sentiment":
            raise InvalidInput("no reviews today")
        return tfapps.api.RunResult(
            run_dir=tmp_path / config.task,
            metrics=pd.DataFrame(),
            headline={"metric": "m", "value": 0.5},
            model=None,
            seconds=1.0,
        )

    monkeypatch.setattr(tfapps.api, "train", fake_train)
    result = run_cli("train-all", "--quiet", "--output-dir", tmp_path / "out")
    assert result.exit_code == 1
    assert "Error: no reviews today" in result.stderr
    assert "1 of 4 runs failed" in result.stderr  # one run a task
    lines = result.output.split("Summary:")[1]
    assert "FAILED" in lines and lines.count("m=0.5000") == 3


def test_plan_applies_quick_datasets_and_architectures():
    common = {"output_dir": "out", "data_dir": None, "seed": 3, "quiet": True, "debug": False}
    configs = suite.plan(
        common,
        quick=True,
        datasets="image-classify=mnist, regress=diabetes",
        compare_architectures=True,
    )
    assert [(type(c), c.dataset, getattr(c, "architecture", None)) for c in configs] == [
        (ImageClassifyConfig, "mnist", "conv"),
        (ImageClassifyConfig, "mnist", "dense"),
        (SentimentConfig, "movie_reviews", "conv"),
        (SentimentConfig, "movie_reviews", "dense"),
        (SentimentConfig, "movie_reviews", "ngram"),
        (RegressConfig, "diabetes", None),
        (TableClassifyConfig, "penguins", None),
    ]
    assert configs[2].max_examples == 2000 and all(c.seed == 3 for c in configs)


def test_train_all_keeps_the_conv_text_model_that_auto_would_not_pick():
    """sentiment's default is --architecture auto; train-all trains the seed's Conv1D model
    (`Task.suite_options`), with the n-gram model among the compared architectures."""
    common = {"output_dir": "out", "quiet": True}
    assert SentimentConfig().architecture == "auto"
    text = [c for c in suite.plan(common) if isinstance(c, SentimentConfig)]
    assert [c.architecture for c in text] == ["conv"]
    chosen = suite.plan(common, datasets="sentiment=rotten_tomatoes")
    assert [(c.dataset, c.architecture) for c in chosen if isinstance(c, SentimentConfig)] == [
        ("rotten_tomatoes", "conv")
    ]


@pytest.mark.parametrize("value", ["images=mnist", "image", "image=", "=mnist"])
def test_plan_refuses_malformed_datasets(value):
    with pytest.raises(InvalidInput, match="--datasets"):
        suite.parse_datasets(value)


def test_report_on_a_missing_directory(run_cli, tmp_path):
    result = run_cli("report", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_report_skips_incomplete_runs(run_cli, tmp_path):
    (tmp_path / "regress" / "x" / "20260101T000000Z.incomplete").mkdir(parents=True)
    (tmp_path / "regress" / "x" / "20260101T000000Z.incomplete" / "run.json").write_text("{}")
    result = run_cli("report", tmp_path)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "summary.csv").empty
    assert "No finished runs yet" in (tmp_path / "report.html").read_text()
    assert Path(tmp_path / "report.html").stat().st_size > 0
