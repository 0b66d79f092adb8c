"""tf.distribute: MirroredStrategy over logical CPUs, and two workers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tfapps import runs

TIMEOUT = 300
WORKER = """
import hashlib, json, sys
import numpy as np
from tfapps.api import train
from tfapps.config import ImageConfig
result = train(ImageConfig(**json.loads(sys.argv[1])))
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
    record = json.loads((runs.finished_runs(output_dir)[0] / "run.json").read_text())
    assert record["compute"]["strategy"] == "MirroredStrategy"
    assert record["compute"]["replicas"] == 2
    assert record["training"]["global_batch_size"] == 64
    assert record["headline"]["value"] >= 0.93  # the single-device run reaches >= 0.90 in 10


def test_two_workers_train_identical_weights_and_only_the_chief_writes(tmp_path, data_dir):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        config = {
            "dataset": "digits",
            "epochs": 4,
            "quiet": True,
            "strategy": "multi-worker",
            "data_dir": data_dir,
            "output_dir": str(tmp_path / f"out{index}"),
        }
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(config)],
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
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
    chief_run = Path(outputs[0]["run_dir"])
    assert outputs[1]["run_dir"] == "None" and not (tmp_path / "out1").exists()
    record = json.loads((chief_run / "run.json").read_text())
    assert record["compute"]["strategy"] == "MultiWorkerMirroredStrategy"
    assert record["compute"]["workers"] == 2 and record["compute"]["replicas"] == 2
    assert record["training"]["global_batch_size"] == 64
    assert record["training"]["epochs_run"] == 4
    assert (chief_run / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.parametrize("tf_config", [None, "not json", '{"cluster": {}, "task": {}}'])
def test_multi_worker_without_a_usable_tf_config(run_cli, tmp_path, monkeypatch, tf_config):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    result = run_cli("regress", "--strategy", "multi-worker", "--output-dir", tmp_path)
    assert result.exit_code == 2
    assert "TF_CONFIG" in result.stderr and "Traceback" not in result.output
