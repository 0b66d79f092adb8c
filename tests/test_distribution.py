"""tf.distribute: MirroredStrategy over logical CPUs, and two workers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tfapps import run_dirs, runs

TIMEOUT = 300
WORKER = """
import hashlib, json, sys
import numpy as np
from tfapps.api import train
from tfapps.tasks.image import ImageClassifyConfig
result = train(ImageClassifyConfig(**json.loads(sys.argv[1])), resume=(sys.argv[2:] or [None])[0])
digest = hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in result.model.get_weights()))
print(json.dumps({"weights": digest.hexdigest(), "run_dir": str(result.run_dir)}))
"""


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_reaches_single_device_quality(tmp_path, data_dir):
    output_dir = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfapps",
            "image-classify",
            "--strategy",
            "mirrored",
            "--cpu-replicas",
            "2",
            "--epochs",
            "15",
            "--quiet",
            "--output-dir",
            str(output_dir),
            "--data-dir",
            data_dir,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads((run_dirs.finished_runs(output_dir)[0] / "run.json").read_text())
    assert record["compute"]["strategy"] == "MirroredStrategy"
    assert record["compute"]["replicas"] == 2
    assert record["training"]["global_batch_size"] == 64
    assert record["headline"]["value"] >= 0.93  # the single-device run reaches >= 0.90 in 10


def _start_workers(tmp_path: Path, data_dir: str, epochs: int, *extra: str, cli: bool = False):
    """Starts two digits workers on free local ports: the CLI, or the API script `WORKER`."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        options = {
            "epochs": epochs,
            "quiet": True,
            "strategy": "multi-worker",
            "checkpoint_seconds": 0,
            "data_dir": data_dir,
            "output_dir": str(tmp_path / f"out{index}"),
        }
        if cli:
            args = ["-m", "tfapps", "image-classify", *extra]
            for name, value in options.items():
                flag = "--" + name.replace("_", "-")
                args += [flag] if value is True else [flag, str(value)]
        else:
            args = ["-c", WORKER, json.dumps({"dataset": "digits", **options}), *extra]
        task = {"type": "worker", "index": index}
        processes.append(
            subprocess.Popen(
                [sys.executable, *args],
                env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": task})},
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    return processes


def _finish_workers(processes) -> list[dict]:
    """Waits for the `WORKER` scripts; returns their printed weights digest and run dir."""
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, stderr
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for process in processes:
            process.kill()
    assert outputs[0]["weights"] == outputs[1]["weights"]
    return outputs


@pytest.mark.slow
def test_two_workers_train_identical_weights_and_only_the_chief_writes(tmp_path, data_dir):
    outputs = _finish_workers(_start_workers(tmp_path, data_dir, 4))
    chief_run = Path(outputs[0]["run_dir"])
    assert outputs[1]["run_dir"] == "None" and not (tmp_path / "out1").exists()
    record = json.loads((chief_run / "run.json").read_text())
    assert record["compute"]["strategy"] == "MultiWorkerMirroredStrategy"
    assert record["compute"]["workers"] == 2 and record["compute"]["replicas"] == 2
    assert record["training"]["global_batch_size"] == 64
    assert record["training"]["epochs_run"] == 4
    assert (chief_run / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.slow
def test_a_killed_worker_and_its_peer_resume_from_the_chiefs_last_epoch(tmp_path, data_dir):
    chief, worker = _start_workers(tmp_path, data_dir, 8, cli=True)
    deadline = time.monotonic() + TIMEOUT
    try:
        while not (found := run_dirs.incomplete_runs(tmp_path / "out0")) or (
            runs.finished_epochs(found[0]) < 2
        ):
            assert time.monotonic() < deadline and chief.poll() is None, chief.stderr.read()
            time.sleep(0.05)
        worker.kill()  # kill -9 while the chief trains epoch 3 or later
        _, stderr = chief.communicate(timeout=TIMEOUT)  # it loses its peer and stops
    finally:
        chief.kill()
        worker.kill()
    run_id = found[0].name.removesuffix(runs.INCOMPLETE_SUFFIX)
    assert chief.returncode == 1, stderr
    assert "A worker of the cluster stopped" in stderr and "Traceback" not in stderr
    assert f"--strategy multi-worker --resume {run_id}" in stderr
    done = runs.finished_epochs(found[0])

    outputs = _finish_workers(_start_workers(tmp_path, data_dir, 8, run_id))  # equal weights
    history = pd.read_csv(Path(outputs[0]["run_dir"]) / "history.csv")
    assert history["epoch"].tolist() == list(range(8))  # epochs 0..done-1 were not run again
    assert history["loss"].iloc[done] < history["loss"].iloc[0]  # resumed trained weights
    record = json.loads((Path(outputs[0]["run_dir"]) / "run.json").read_text())
    assert record["status"] == "complete" and len(record["resumed_at"]) == 1
    assert not (tmp_path / "out1").exists()


@pytest.mark.parametrize("tf_config", [None, "not json", '{"cluster": {}, "task": {}}'])
def test_multi_worker_without_a_usable_tf_config(run_cli, tmp_path, monkeypatch, tf_config):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    result = run_cli("regress", "--strategy", "multi-worker", "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert "TF_CONFIG" in result.stderr and "Traceback" not in result.output
