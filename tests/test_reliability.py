"""Nothing lost: resume after kill -9, Ctrl-C/SIGTERM, concurrent runs, disk faults."""

from __future__ import annotations

import json
import multiprocessing
import resource
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tfapps import run_dirs, runs
from tfapps.errors import InvalidInput
from tfapps.summary import rebuild_summary

pytestmark = pytest.mark.slow

TIMEOUT = 180


def _train_args(output_dir: Path, data_dir: str, *extra, epochs: int = 8) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tfapps",
        "image-classify",
        "--epochs",
        str(epochs),
        "--batch-size",
        "8",
        "--patience",
        "50",
        "--checkpoint-seconds",
        "0",
        "--seed",
        "3",
        "--quiet",
        "--output-dir",
        str(output_dir),
        "--data-dir",
        data_dir,
        *extra,
    ]


def _start_and_wait_for_epochs(
    args: list[str], output_dir: Path, epochs: int, runs_of: str = "image-classify/digits"
):
    """Starts training in a subprocess and returns it once history.csv holds `epochs` rows.

    Args:
        runs_of: `<task>/<dataset>`, the folder of the run. Defaults to digits.
    """
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        histories = list(output_dir.glob(f"{runs_of}/*.incomplete/history.csv"))
        if histories and len(histories[0].read_text().splitlines()) > epochs:
            return process, histories[0].parent
        if process.poll() is not None:
            pytest.fail(f"training ended before epoch {epochs}: {process.communicate()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail("training did not reach its epochs in time")


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)


def test_kill_9_then_resume_continues_without_gap_or_repeat(tmp_path, data_dir):
    output_dir = tmp_path / "out"
    args = _train_args(output_dir, data_dir)
    process, run_dir = _start_and_wait_for_epochs(args, output_dir, epochs=2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=TIMEOUT)
    assert run_dir.is_dir() and run_dirs.finished_runs(output_dir) == []

    listed = _run([sys.executable, "-m", "tfapps", "runs", str(output_dir), "--incomplete"])
    assert run_dir.name in listed.stdout and "--resume" in listed.stdout

    contradicting = _run(_train_args(output_dir, data_dir, "--resume", "latest", epochs=9))
    assert contradicting.returncode == 2
    assert "--epochs 9 (the run used 8)" in contradicting.stderr
    assert "Traceback" not in contradicting.stderr

    resumed = _run(args + ["--resume", "latest"])
    assert resumed.returncode == 0, resumed.stderr
    final = run_dir.with_name(run_dir.name.removesuffix(runs.INCOMPLETE_SUFFIX))
    history = pd.read_csv(final / "history.csv")
    assert list(history["epoch"]) == list(range(8))
    record = json.loads((final / "run.json").read_text())
    assert record["status"] == "complete" and len(record["resumed_at"]) == 1
    assert record["training"]["epochs_run"] == 8
    assert not (final / runs.BACKUP_DIR).exists() and not run_dir.exists()


def test_an_ngram_text_run_killed_and_resumed_finishes_every_epoch(tmp_path):
    """The n-gram model's run (its TF-IDF vectors cached sparse) resumes after kill -9 too."""
    rows = [(f"{word} film number {i}", word) for i in range(300) for word in ("good", "bad")]
    csv = tmp_path / "reviews.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(csv, index=False)
    output_dir = tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "tfapps",
        "sentiment",
        "--dataset",
        str(csv),
        "--architecture",
        "ngram",
        "--epochs",
        "8",
        "--patience",
        "50",
        "--batch-size",
        "4",
        "--steps-per-execution",
        "1",
        "--checkpoint-seconds",
        "0",
        "--quiet",
        "--output-dir",
        str(output_dir),
    ]
    process, run_dir = _start_and_wait_for_epochs(args, output_dir, 2, "sentiment/reviews.csv")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=TIMEOUT)
    resumed = _run(args + ["--resume", "latest"])
    assert resumed.returncode == 0, resumed.stderr
    final = run_dir.with_name(run_dir.name.removesuffix(runs.INCOMPLETE_SUFFIX))
    assert list(pd.read_csv(final / "history.csv")["epoch"]) == list(range(8))
    record = json.loads((final / "run.json").read_text())
    assert len(record["resumed_at"]) == 1 and record["training"]["architecture"] == "ngram"


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_keeps_the_checkpoint_and_prints_the_resume_command(
    tmp_path, data_dir, signum, status
):
    output_dir = tmp_path / "out with space"
    process, run_dir = _start_and_wait_for_epochs(
        _train_args(output_dir, data_dir), output_dir, epochs=2
    )
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == status, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr
    assert lines[0].startswith("Error: Interrupted;") and "Resume with: tfapps" in lines[0]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert runs.finished_epochs(run_dir) >= 1

    command = shlex.split(lines[0].split("Resume with: ", 1)[1])
    resumed = _run(
        [sys.executable, "-m", "tfapps", *command[1:], "--quiet", "--data-dir", data_dir]
    )
    assert resumed.returncode == 0, resumed.stderr
    final = run_dir.with_name(run_dir.name.removesuffix(runs.INCOMPLETE_SUFFIX))
    assert list(pd.read_csv(final / "history.csv")["epoch"]) == list(range(8))


def _reserve(parent: str) -> str:
    return run_dirs.reserve(Path(parent)).run_id


def test_runs_started_in_the_same_second_get_distinct_ids(tmp_path):
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        ids = pool.map(_reserve, [str(tmp_path)] * 24)
    assert len(set(ids)) == 24
    assert len(list(tmp_path.glob(f"*{runs.INCOMPLETE_SUFFIX}"))) == 24


def test_a_claimed_run_shows_as_running_and_cannot_be_claimed_again(tmp_path):
    run = run_dirs.reserve(tmp_path / "regress" / "fake")
    listing = [sys.executable, "-m", "tfapps", "runs", str(tmp_path), "--incomplete"]
    assert not run_dirs.is_running(run.temp)
    claim = run_dirs.claim(run)
    try:
        assert f"{run.temp}  running now" in _run(listing).stdout  # seen from another process
        with pytest.raises(InvalidInput, match="still running in another process"):
            run_dirs.claim(run)
    finally:
        claim.release()
    assert not run_dirs.is_running(run.temp)
    assert "running now" not in _run(listing).stdout
    run_dirs.claim(run).release()  # free again


def _finish_fake_run(args) -> None:
    output_dir, index = args
    run = run_dirs.reserve(Path(output_dir) / "regress" / "fake")
    runs.write_json(
        run.temp / runs.RUN_JSON,
        {
            "task": "regress",
            "run_id": run.run_id,
            "status": "complete",
            "dataset": {"name": "fake"},
            "headline": {"split": "test", "metric": "mae", "value": float(index)},
        },
    )
    run_dirs.publish(run)
    rebuild_summary(Path(output_dir))


def test_parallel_writers_never_corrupt_summary_csv(tmp_path):
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        pool.map(_finish_fake_run, [(str(tmp_path), i) for i in range(30)])
    rebuild_summary(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary["value"]) == list(range(30))
    assert summary["run_id"].is_unique


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_mid_run_fails_cleanly_and_keeps_earlier_runs(tmp_path, data_dir):
    output_dir = tmp_path / "out"
    first = _run(_train_args(output_dir, data_dir, epochs=2))
    assert first.returncode == 0, first.stderr
    finished = run_dirs.finished_runs(output_dir)
    before = {p: p.read_bytes() for p in finished[0].rglob("*") if p.is_file()}

    full = _run(_train_args(output_dir, data_dir), preexec_fn=_limit_file_size)
    assert full.returncode == 1, full.stderr
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr
    assert "File too large" in lines[0]
    assert run_dirs.finished_runs(output_dir) == finished
    assert {p: p.read_bytes() for p in before} == before
    assert len(pd.read_csv(output_dir / "summary.csv")) == 1


@pytest.mark.parametrize(("interval", "saved_epochs"), [(0, 3), (3600, None)])
def test_checkpoints_wait_for_their_interval(tmp_path, interval, saved_epochs):
    import keras
    import numpy as np

    from tfapps.callbacks import PeriodicBackupAndRestore

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    backup = tmp_path / runs.BACKUP_DIR
    callback = PeriodicBackupAndRestore(str(backup), interval)
    model.fit(np.ones((8, 2)), np.ones(8), epochs=3, verbose=0, callbacks=[callback])
    assert (runs.finished_epochs(tmp_path) or None) == saved_epochs
