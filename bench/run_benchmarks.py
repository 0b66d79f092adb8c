"""Benchmarks of tfapps' default runs: quality, wall time, throughput and peak memory.

Each run is a separate `tfapps <task>` process with default settings (only the seed varies), so
wall time includes start-up and peak RSS is that process's own. Raw results are kept in
docs/benchmarks.json (one entry per benchmark, replaced when rerun) and docs/BENCHMARKS.md is
rendered from all of them, with the machine and the date of each.

Usage:
    python bench/run_benchmarks.py                    # every benchmark, 3 seeds each
    python bench/run_benchmarks.py --only digits --seeds 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.json"
REPORT = ROOT / "docs" / "BENCHMARKS.md"

# name: (command, dataset, headline metric, target text, whether the target is met)
BENCHMARKS = {
    "digits": ("image-classify", "digits", "accuracy", ">= 0.975", lambda v: v >= 0.975),
    "movie_reviews": ("sentiment", "movie_reviews", "accuracy", ">= 0.87", lambda v: v >= 0.87),
    "auto_mpg": ("regress", "auto_mpg", "mae", "<= 1.8", lambda v: v <= 1.8),
    "diabetes": ("regress", "diabetes", "mae", "(none)", lambda v: True),
}


def run_once(command: str, dataset: str, seed: int, output_dir: Path, data_dir: Path) -> dict:
    """Runs one default training in its own process; returns its figures."""
    args = [
        sys.executable,
        "-m",
        "tfapps",
        command,
        "--dataset",
        dataset,
        "--seed",
        str(seed),
        "--quiet",
        "--output-dir",
        str(output_dir),
        "--data-dir",
        str(data_dir),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out}\n{err}")
    run_dir = Path(re.search(r"Run complete: (.+)", out).group(1).strip())
    record = json.loads((run_dir / "run.json").read_text())
    train_examples = record["dataset"]["sizes"]["train"]
    epochs = record["training"]["epochs_run"]
    return {
        "seed": seed,
        "value": record["headline"]["value"],
        "wall_seconds": wall,
        "train_seconds": record["timings"]["train_seconds"],
        "epochs": epochs,
        "examples_per_second": train_examples * epochs / record["timings"]["train_seconds"],
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def machine() -> dict:
    """Describes this machine: CPU model, cores, memory, OS and library versions."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024**2, 1),
        "gpu": "none",
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": version("tensorflow"),
        "keras": version("keras"),
        "tfds": version("tensorflow-datasets"),
    }


def render(results: dict) -> str:
    """Returns the markdown of docs/BENCHMARKS.md for all stored results."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run_benchmarks.py`); do not edit by hand. Every run is",
        "a separate `tfapps <command> --dataset <name> --seed <s>` process with default",
        "settings. Wall time includes start-up, data preparation, training, evaluation and",
        "export; examples/s is training examples × epochs ÷ training seconds; peak RSS is the",
        "process's maximum resident memory. Medians over the seeds.",
        "",
        "| benchmark | command | test metric (median) | target | met | per seed | wall s | "
        "train ex/s | peak RSS MB | epochs | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in results.items():
        runs = entry["runs"]
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("value", "wall_seconds", "examples_per_second", "peak_rss_mb")
        }
        per_seed = ", ".join(f"{r['value']:.4f}" for r in runs)
        lines.append(
            f"| {name} | {entry['command']} | {entry['metric']} {med['value']:.4f} | "
            f"{entry['target']} | {'yes' if entry['met'] else 'no'} | {per_seed} | "
            f"{med['wall_seconds']:.0f} | {med['examples_per_second']:.0f} | "
            f"{med['peak_rss_mb']:.0f} | {', '.join(str(r['epochs']) for r in runs)} | "
            f"{entry['date']} |"
        )
    lines += ["", "## Machines", ""]
    for name, entry in results.items():
        m = entry["machine"]
        lines.append(
            f"- {name}: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU {m['gpu']}; "
            f"{m['os']}; Python {m['python']}, TensorFlow {m['tensorflow']}, Keras "
            f"{m['keras']}, TFDS {m['tfds']}"
        )
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="*",
        choices=sorted(BENCHMARKS),
        default=None,
        help="benchmarks to run (default: all)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per benchmark (default: 3)")
    options = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with tempfile.TemporaryDirectory(prefix="tfapps-bench-") as scratch:
        scratch = Path(scratch)
        for name in options.only or BENCHMARKS:
            command, dataset, metric, target, met = BENCHMARKS[name]
            runs = []
            for seed in range(1, options.seeds + 1):
                runs.append(run_once(command, dataset, seed, scratch / "runs", scratch / "tfds"))
                print(
                    f"{name} seed {seed}: {metric}={runs[-1]['value']:.4f} "
                    f"wall={runs[-1]['wall_seconds']:.0f}s",
                    flush=True,
                )
            results[name] = {
                "command": command,
                "metric": metric,
                "target": target,
                "met": met(statistics.median(r["value"] for r in runs)),
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                "machine": machine(),
                "runs": runs,
            }
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            REPORT.write_text(render(results))
    print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()
