"""`tfapps tune`: the search's options and spaces, KerasTuner's oracles starting at the
defaults, the budget, a search per task on tiny data (the first trial is the config itself),
a kill in mid-trial and a resume that continues it, the test split unread until the final
model, and memory flat across trials."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from conftest import tiny_reviews, tiny_table

from tfapps import run_dirs, runs
from tfapps.errors import InvalidInput
from tfapps.tune.options import TuneOptions, budget_seconds, parse_space

TIMEOUT = 600


# --- options, spaces, oracles, budget (no training) ------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("300", 300), ("300s", 300), ("5m", 300), ("1h", 3600), ("1.5h", 5400)]
)
def test_time_budget_takes_seconds_or_a_unit(text, seconds):
    assert budget_seconds(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "0", "-5m", "5d", "", "inf", "nan"])
def test_a_time_budget_of_another_form_is_refused(text):
    with pytest.raises(InvalidInput, match=r"--time-budget.*Received: "):
        budget_seconds(text)


@pytest.mark.parametrize(
    "item",
    ["dropout", "=0.2", "dropout=", "2x=1", "dropout=a..b", "dropout=0.5..0.1", "units=1,,2"],
)
def test_a_space_item_of_another_form_is_refused(item):
    with pytest.raises(InvalidInput, match=r"Invalid value for --space: .*Received: "):
        parse_space((item,))


def test_a_knob_given_twice_is_refused():
    with pytest.raises(InvalidInput, match="given twice"):
        TuneOptions(space=("units=32", "units=64"))


def _space(*items: str):
    import keras_tuner

    from tfapps.tune.space import Space

    return Space(keras_tuner.HyperParameters(), parse_space(items))


def test_a_knob_starts_at_the_config_value_and_space_overrides_it():
    space = _space("units=20..70", "dropout=0.1..0.3", "loss=mae,huber", "batch_norm=true")
    assert space.choice("width", (16, 32), 50) == 50  # widened to hold the config's value
    assert space.knobs["width"].values == (16, 32, 50)
    assert space.choice("units", (16, 32, 64, 128), 128) == 64  # the nearest inside the range
    assert space.knobs["units"].values == (32, 64)
    assert space.number("dropout", 0.0, 0.6, 0.5) == 0.3
    assert space.choice("loss", ("mae", "mse", "huber"), "mse") == "mae"
    assert space.boolean("batch_norm", False) is True
    assert space.number("learning_rate", 1e-4, 1e-2, 1e-3, log=True) == 1e-3
    assert space.changed("units", "dropout", "loss", "batch_norm")
    assert not space.changed("width") and not space.changed("learning_rate")


@pytest.mark.parametrize(
    ("item", "declare", "message"),
    [
        ("loss=0..1", lambda s: s.choice("loss", ("mae", "mse"), "mae"), "loss taking one of"),
        ("loss=hinge", lambda s: s.choice("loss", ("mae", "mse"), "mae"), "one of mae,mse"),
        ("units=300..400", lambda s: s.choice("units", (16, 32), 32), "a range holding"),
        ("layers=2.5", lambda s: s.integer("layers", 1, 4, 2), "layers taking integers"),
        ("augment=maybe", lambda s: s.boolean("augment", False), "true or false"),
        ("augment=0..1", lambda s: s.boolean("augment", False), "true or false"),
        ("dropout=x,y", lambda s: s.number("dropout", 0, 0.5, 0.1), "taking numbers"),
    ],
)
def test_space_values_a_knob_cannot_take_are_refused(item, declare, message):
    with pytest.raises(InvalidInput, match=message) as error:
        declare(_space(item))
    assert f"Received: {item!r}" in str(error.value)


def _infos():
    """One task config and dataset facts per task, as a search would see them."""
    from tfapps.data.info import DatasetInfo
    from tfapps.data.specs import ImageSpec, TableSchema, TextSpec
    from tfapps.tasks import TASKS
    from tfapps.tasks.tables import TableTask

    specs = {"image-classify": ImageSpec([8, 8, 1]), "sentiment": TextSpec(median_tokens=12)}
    for task in TASKS.values():
        spec = TableSchema("y", []) if isinstance(task, TableTask) else specs[task.name]
        sizes = {"train": 2000, "validation": 250, "test": 250}
        info = DatasetInfo(name="d", source="local", sizes=sizes, spec=spec)
        yield pytest.param(task, info, id=task.name)


@pytest.mark.parametrize(("task", "info"), _infos())
def test_each_task_searches_around_its_config_whose_first_trial_is_the_config(task, info):
    import keras_tuner

    from tfapps.tune.search import declare_space
    from tfapps.tune.space import Space, default_values

    config = task.config_class(dataset="d", dropout=0.25)
    space = declare_space(task, config, info, TuneOptions())  # every knob's values build
    assert len(space.knobs) >= 5
    defaults = keras_tuner.HyperParameters()
    defaults.merge(space.hp.space)
    defaults.values = default_values(space.hp)
    assert task.search_space(Space(defaults), config, info) == config
    assert space.knobs["dropout"].default == 0.25
    moved = space.hp.copy()
    moved.values["learning_rate"] = 0.005
    assert task.search_space(Space(moved), config, info).learning_rate == 0.005


@pytest.mark.parametrize(
    ("kept", "expected"),
    [
        ("head", {"epochs": 2, "fine_tune_epochs": 0}),
        ("fine_tune", {"epochs": 2, "fine_tune_epochs": 1}),
    ],
)
def test_a_phased_trial_gives_each_phase_its_best_epochs_up_to_the_kept_one(kept, expected):
    """Head epochs 0-3 (best: epoch 1, the 2nd), fine-tuning 4-6 (best: epoch 4, its 1st)."""
    from types import SimpleNamespace

    from tfapps.tasks.task_model import Phase
    from tfapps.tune.trial import phase_epochs

    phases = [Phase("head", 4, None), Phase("fine_tune", 3, None, epochs_option="fine_tune_epochs")]
    records = [
        {"name": "head", "first_epoch": 0, "epochs_run": 4, "kept": kept == "head"},
        {"name": "fine_tune", "first_epoch": 4, "epochs_run": 3, "kept": kept == "fine_tune"},
    ]
    history = pd.DataFrame({"epoch": range(7), "val_loss": [0.9, 0.5, 0.6, 0.7, 0.4, 0.45, 0.5]})
    task_model = SimpleNamespace(phases=phases, trained_phases=records)
    assert phase_epochs(task_model, history) == expected
    assert phase_epochs(SimpleNamespace(phases=[]), history) is None


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband"])
def test_every_oracle_starts_with_the_defaults(tuner, tmp_path):
    import keras_tuner

    from tfapps.tasks import get_task
    from tfapps.tune import oracles
    from tfapps.tune.search import declare_space
    from tfapps.tune.space import default_values

    task = get_task("regress")
    config = task.config_class(dataset="d", epochs=27, patience=3)
    space = declare_space(task, config, None, TuneOptions())
    oracle = oracles.make_oracle(
        tuner, keras_tuner.Objective("val_mae", "min"), 5, 27, 3, len(space.knobs), seed=1
    )
    oracle.hyperparameters = space.hp.copy()
    oracle._set_project_dir(str(tmp_path), "search")  # BaseTuner's call
    first = oracle.create_trial("tuner0").hyperparameters.values
    assert {k: v for k, v in first.items() if not k.startswith("tuner/")} == default_values(
        space.hp
    )
    if tuner == "hyperband":  # brackets from the patience (3 epochs) to the task's 27
        assert first["tuner/epochs"] == 3
        assert oracle._get_num_brackets() == 3


def test_the_budget_admits_what_fits_and_sets_the_deadline(tmp_path):
    from tfapps.tune.budget import Budget

    assert Budget(None, tmp_path / "b.json").admits([10**6], None)
    budget = Budget(100, tmp_path / "b.json")
    assert budget.admits([], 99)  # nothing to estimate from
    assert budget.admits([30, 40, 45], 50) and not budget.admits([30, 60, 70], 50)
    now = time.time()
    assert now + 45 < budget.deadline(None) <= time.time() + 50  # half of what is left
    assert now + 75 < budget.deadline(20) <= time.time() + 80
    budget.save(force=True)
    saved = json.loads((tmp_path / "b.json").read_text())["spent"]
    assert saved > 0 and Budget(100, tmp_path / "b.json").spent >= saved  # kept across sessions


@pytest.mark.slow
def test_the_best_epoch_is_the_one_keras_early_stopping_keeps():
    import keras

    from tfapps.tune.trial import best_epoch

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    for start in (0, 4):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.05), "mse")
        stopping = keras.callbacks.EarlyStopping(
            patience=3, start_from_epoch=start, restore_best_weights=True
        )
        fit = model.fit(x, y, validation_split=0.5, epochs=30, verbose=0, callbacks=[stopping])
        history = pd.DataFrame({**fit.history, "epoch": fit.epoch})
        assert best_epoch(history, start) == stopping.best_epoch + 1


# --- searches on tiny data -------------------------------------------------------------------


def _tune_args(task: str, output_dir: Path, data_dir: str, *extra) -> list[str]:
    return [
        "tune",
        task,
        "--quiet",
        "--output-dir",
        str(output_dir),
        "--data-dir",
        data_dir,
        *extra,
    ]


def _finished(output_dir: Path) -> Path:
    (run_dir,) = run_dirs.finished_runs(output_dir)
    return run_dir


def _trials(run_dir: Path) -> list[dict]:
    paths = sorted((run_dir / runs.SEARCH_DIR).glob("trial_*/record.json"))
    return sorted((json.loads(p.read_text()) for p in paths), key=lambda r: r["trial"])


def _check_tuned_run(run_dir: Path, trials: int, start: dict) -> dict:
    """The run is a finished tuned run of `trials` trials whose first trained `start`."""
    start = json.loads(json.dumps(start))  # as run.json keeps it
    record = json.loads((run_dir / runs.RUN_JSON).read_text())
    assert record["status"] == "complete" and record["tune"]["trials"] == trials
    assert record["tune"]["start_config"] == {**start, "quiet": True}
    records = _trials(run_dir)
    assert len(records) == trials
    assert records[0]["config"] == {**start, "quiet": True}  # trial 1: the config itself
    assert all(r["config"] != records[0]["config"] for r in records[1:])
    table = pd.read_csv(run_dir / runs.TRIALS_CSV)
    assert list(table["trial"]) == list(range(1, trials + 1))
    assert (run_dir / runs.PLOTS_DIR / "search.png").is_file()
    metrics = pd.read_csv(run_dir / runs.METRICS_CSV)
    assert set(metrics["split"]) == {"validation", "test"}
    best = record["tune"]["best_trial"]
    assert record["config"]["epochs"] == records[best - 1]["best_epoch"]
    assert (run_dir / runs.SAVED_MODEL_DIR).is_dir() and (run_dir / runs.MODEL_KERAS).is_file()
    return record


@pytest.mark.slow
def test_an_image_search_never_reads_the_test_split_before_the_final_model(
    tmp_path, data_dir, monkeypatch
):
    """Trial 1 is the config; the trials read only the saved train and validation splits;
    the test split is first read once every trial and the final training are done."""
    import tensorflow as tf

    import tfapps.data.load
    from tfapps.tasks.image import ImageClassifyConfig
    from tfapps.tune.run import tune

    output_dir = tmp_path / "out"
    seen: dict = {}
    load = tfapps.data.load.load_splits

    def spied(config):
        splits = load(config)

        def note():
            if not seen:
                (search,) = output_dir.glob(f"*/*/*{runs.INCOMPLETE_SUFFIX}/{runs.SEARCH_DIR}")
                seen["trials"] = len(list(search.glob("trial_*/record.json")))
                seen["final_trained"] = (search.parent / runs.HISTORY_CSV).is_file()
            return 0

        def read(image, label):
            with tf.control_dependencies([tf.py_function(note, [], tf.int32)]):
                return tf.identity(image), label

        splits.test = splits.test.map(read)
        return splits

    monkeypatch.setattr(tfapps.data.load, "load_splits", spied)
    config = ImageClassifyConfig(
        dataset="digits",
        max_examples=120,
        epochs=2,
        quiet=True,
        output_dir=str(output_dir),
        data_dir=data_dir,
    )
    result = tune(config, TuneOptions(tuner="random", max_trials=3))
    assert seen == {"trials": 3, "final_trained": True}
    record = _check_tuned_run(result.run_dir, 3, config.to_dict())
    saved = result.run_dir / runs.SEARCH_DIR / "data"
    assert sorted(p.name for p in saved.iterdir() if p.is_dir()) == ["train", "validation"]
    sizes = record["dataset"]["sizes"]
    for split in ("train", "validation"):
        assert int(tf.data.Dataset.load(str(saved / split)).cardinality()) == sizes[split]


@pytest.mark.slow
def test_a_text_search_with_folds_scores_each_trial_on_every_fold(run_cli, tmp_path, data_dir):
    reviews = tmp_path / "reviews.csv"
    tiny_reviews(60).to_csv(reviews, index=False)
    small = ["--max-tokens", "200", "--sequence-length", "16", "--embedding-dim", "8"]
    args = ["--dataset", str(reviews), "--epochs", "2", "--architecture", "conv", *small]
    result = run_cli(
        *_tune_args("sentiment", tmp_path / "out", data_dir, *args),
        "--tuner",
        "bayesian",
        "--max-trials",
        "3",
        "--folds",
        "2",
        "--space",
        "embedding_dim=8",
        "--space",
        "max_tokens=200",
    )
    assert result.exit_code == 0, result.output
    run_dir = _finished(tmp_path / "out")
    from tfapps.tasks.text import SentimentConfig

    start = SentimentConfig(
        dataset=str(reviews),
        architecture="conv",
        epochs=2,
        max_tokens=200,
        sequence_length=16,
        embedding_dim=8,
        output_dir=str(tmp_path / "out"),
        data_dir=data_dir,
        quiet=True,
    )
    _check_tuned_run(run_dir, 3, start.to_dict())
    for record in _trials(run_dir):
        assert len(record["folds"]) == 2
        assert record["score"] == pytest.approx(np.mean([f["score"] for f in record["folds"]]))
        assert record["settings"]["embedding_dim"] == 8


@pytest.mark.slow
def test_a_table_hyperband_search_keeps_memory_flat_and_its_run_works_everywhere(
    run_cli, tmp_path, data_dir
):
    """Hyperband's rounds continue earlier trials; every trial's process peaks alike (only
    the dropout and learning rate vary); predict, evaluate, export, serve and the report page
    take the tuned run as any run."""
    table = tmp_path / "table.csv"
    tiny_table(80).to_csv(table, index=False)
    fixed = [f"--space={k}" for k in ("layers=2", "units=32", "batch_norm=false", "loss=mae")]
    result = run_cli(
        *_tune_args("regress", tmp_path / "out", data_dir, "--dataset", str(table)),
        "--target",
        "y",
        "--epochs",
        "9",
        "--patience",
        "3",
        "--start-from-epoch",
        "0",
        "--tuner",
        "hyperband",
        "--max-trials",
        "6",
        "--space",
        "batch_size=16",
        *fixed,
    )
    assert result.exit_code == 0, result.output
    run_dir = _finished(tmp_path / "out")
    records = _trials(run_dir)
    assert [r["initial_epoch"] for r in records][:5] == [0] * 5
    continued = [r for r in records if r["from_trial"] is not None]
    assert continued and all(r["initial_epoch"] == 3 for r in continued)
    peaks = [r["peak_rss_mb"] for r in records if r["from_trial"] is None]
    assert max(peaks[1:]) <= 1.1 * peaks[1], peaks  # no trial grows on the last ones' leftovers
    from tfapps.api import train
    from tfapps.tasks import config_from_dict

    options = {**records[0]["config"], "output_dir": str(tmp_path / "plain")}
    plain = train(config_from_dict(options)).metrics.set_index(["split", "metric"])["value"]
    assert records[0]["score"] == plain["validation", "mae"]  # a trial is a plain run

    out = tmp_path / "predictions.csv"
    tiny_table(5, seed=1).drop(columns="y").to_csv(tmp_path / "rows.csv", index=False)
    assert run_cli("predict", run_dir, tmp_path / "rows.csv", "--output", out).exit_code == 0
    assert len(pd.read_csv(out)) == 5
    evaluated = run_cli("evaluate", run_dir, "--dataset", str(table))
    assert evaluated.exit_code == 0, evaluated.output
    assert run_cli("export", run_dir, "--format", "onnx").exit_code == 0
    assert run_cli("report", tmp_path / "out").exit_code == 0
    assert "<figcaption>search</figcaption>" in (tmp_path / "out" / "report.html").read_text()
    from test_serve import serving

    from tfapps import serve

    with serving(serve.load_models([run_dir])) as running:
        body = json.dumps({"instances": [{"x": 1.0, "kind": "a"}, {"x": 2.0, "kind": "b"}]})
        url = f"http://127.0.0.1:{running['port']}/v1/models/regress:predict"
        request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            assert len(json.loads(reply.read())["predictions"]) == 2


def _search_process(output_dir: Path, data_dir: str, table: Path, *extra) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tfapps",
        *_tune_args("regress", output_dir, data_dir, "--dataset", str(table), "--target", "y"),
        "--tuner",
        "random",
        "--batch-size",
        "8",
        "--checkpoint-seconds",
        "0",
        *extra,
    ]


@pytest.mark.slow
def test_a_killed_search_resumes_its_trial_from_the_checkpoint(tmp_path, data_dir):
    table = tmp_path / "table.csv"
    tiny_table(80).to_csv(table, index=False)
    output_dir = tmp_path / "out"
    args = _search_process(
        output_dir, data_dir, table, "--epochs", "40", "--patience", "40", "--max-trials", "1"
    )
    search = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = list(output_dir.glob(f"regress/*/*{runs.INCOMPLETE_SUFFIX}/search/trial_0"))
        if found and runs.finished_epochs(found[0]) >= 3:
            break
        assert search.poll() is None, search.communicate()
        time.sleep(0.05)
    trial_dir = found[0]
    (trial,) = psutil.Process(search.pid).children()
    search.send_signal(signal.SIGKILL)
    search.wait(timeout=TIMEOUT)
    trial.wait(timeout=TIMEOUT)  # the orphaned trial stops at its next step end
    checkpointed = runs.finished_epochs(trial_dir)
    kept = pd.read_csv(trial_dir / runs.HISTORY_CSV).iloc[:checkpointed]

    resumed = subprocess.run(
        args + ["--resume", "latest"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert resumed.returncode == 0, resumed.stderr
    run_dir = _finished(output_dir)
    (record,) = _trials(run_dir)
    assert record["resumed_at_epoch"] == checkpointed >= 3
    history = pd.read_csv(run_dir / runs.SEARCH_DIR / "trial_0" / runs.HISTORY_CSV)
    assert list(history["epoch"]) == list(range(40))  # continued, neither restarted nor gapped
    pd.testing.assert_frame_equal(history.iloc[:checkpointed], kept)
    assert json.loads((run_dir / runs.RUN_JSON).read_text())["resumed_at"]


@pytest.mark.slow
def test_the_time_budget_ends_the_running_trial_and_starts_none_that_cannot_fit(tmp_path, data_dir):
    table = tmp_path / "table.csv"
    tiny_table(80).to_csv(table, index=False)
    output_dir = tmp_path / "out"
    args = _search_process(
        output_dir,
        data_dir,
        table,
        "--epochs",
        "100000",
        "--patience",
        "100000",
        "--time-budget",
        "40s",
    )
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    run_dir = _finished(output_dir)
    records = _trials(run_dir)
    assert records[0]["status"] == "time_limit" and records[0]["epochs_run"] < 100000
    for record in records:
        spec = json.loads(
            (run_dir / runs.SEARCH_DIR / f"trial_{record['trial_id']}" / "spec.json").read_text()
        )
        assert spec["deadline"] <= spec["budget_end"]
    budget = json.loads((run_dir / runs.SEARCH_DIR / "budget.json").read_text())
    refused = budget["refused"]  # the search stopped because no further trial fitted
    assert refused["usable_seconds"] < refused["trial_seconds"]
