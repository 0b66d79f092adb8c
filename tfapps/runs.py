"""Run directories: naming, atomic completion, listing, and saved_models/summary.csv.

A run is written into `<output>/<task>/<dataset>/<run-id>.incomplete/` and renamed to
`<run-id>/` only once every file is in place, so a crash never leaves a half-written run where
finished runs live. Finished runs are the source of truth: summary.csv is rebuilt from their
run.json files, under a lock, and replaced atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tfapps.errors import InvalidInput

RUN_JSON = "run.json"
SUMMARY_CSV = "summary.csv"
INCOMPLETE_SUFFIX = ".incomplete"
BACKUP_DIR = "backup"
HISTORY_CSV = "history.csv"
CLAIM_LOCK = ".running.lock"  # held by the process training the run
CHECKPOINT_METADATA = "training_metadata.json"  # written by keras.callbacks.BackupAndRestore
SUMMARY_COLUMNS = [
    "task",
    "dataset",
    "architecture",
    "run_id",
    "split",
    "metric",
    "value",
    "epochs",
    "parameters",
    "train_seconds",
    "examples_per_second",
    "seconds",
    "finished_at",
    "path",
]


@dataclass
class RunDir:
    """A reserved run: written into `temp`, renamed to `final` by `finalize`."""

    run_id: str
    temp: Path
    final: Path


def utc_now() -> str:
    """Returns the current UTC time as ISO 8601 with seconds, e.g. `2026-11-27T03:34:05Z`."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dataset_slug(dataset: str) -> str:
    """Returns a folder-safe name for a dataset value (a path becomes its last component)."""
    path = Path(dataset).expanduser()
    name = path.resolve().name if path.exists() else dataset
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "dataset"


def ensure_writable(output_dir: str | Path) -> Path:
    """Creates `output_dir` if needed and checks that files can be written in it.

    Raises:
        InvalidInput: naming the directory when it cannot be created or written.
    """
    path = Path(output_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".tfapps-write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidInput(
            f"Cannot write to --output-dir {str(output_dir)!r}: {reason}. "
            "Pass a directory you can create and write."
        ) from None
    return path


def reserve(parent: Path) -> RunDir:
    """Reserves a new, never used run id under `parent` and creates its temporary directory.

    The id is the UTC start time (`20261127T033405Z`); a run starting in the same second as
    another gets a `-2`, `-3`, ... suffix. Creating the directory is the atomic reservation.
    """
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    with locked(_reserve_lock(parent)):  # no id is taken while another run renames into it
        for attempt in range(1, 1000):
            run_id = stamp if attempt == 1 else f"{stamp}-{attempt}"
            final = parent / run_id
            temp = parent / f"{run_id}{INCOMPLETE_SUFFIX}"
            if final.exists() or temp.exists():
                continue
            temp.mkdir()
            return RunDir(run_id=run_id, temp=temp, final=final)
    raise InvalidInput(f"Could not reserve a new run id under {parent}.")


def resumable(parent: Path, which: str) -> RunDir:
    """Returns the interrupted run `which` (a run id, or `"latest"`) under `parent`.

    Raises:
        InvalidInput: when there is no such interrupted run, listing those there are.
    """
    found = sorted(parent.glob(f"*{INCOMPLETE_SUFFIX}")) if parent.is_dir() else []
    ids = [p.name[: -len(INCOMPLETE_SUFFIX)] for p in found]
    if which == "latest" and ids:
        which = ids[-1]
    if which not in ids:
        listed = ", ".join(ids) if ids else "none"
        raise InvalidInput(
            f"Invalid value for --resume: no interrupted run {which!r} under "
            f"{parent}; interrupted runs there: {listed}."
        )
    return RunDir(run_id=which, temp=parent / f"{which}{INCOMPLETE_SUFFIX}", final=parent / which)


def claim(run: RunDir):
    """Takes the run's lock for this process (released when the returned file is closed).

    Raises:
        InvalidInput: when another process holds it, that is, the run is still going.
    """
    handle = open(run.temp / CLAIM_LOCK, "a")  # noqa: SIM115 held open until the run ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise InvalidInput(
            f"Run {run.run_id} is still running in another process; wait for "
            "it, or stop it before resuming."
        ) from None
    return handle


def is_running(run_dir: Path) -> bool:
    """True while a process holds the lock of the (incomplete) run in `run_dir`."""
    lock = run_dir / CLAIM_LOCK
    if not lock.exists():
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def finished_epochs(run_dir: Path) -> int:
    """Returns how many epochs a run's BackupAndRestore checkpoint holds (0 without one).

    A metadata file cut short by a kill falls back to the previous checkpoint's copy.
    """
    metadata = Path(run_dir) / BACKUP_DIR / CHECKPOINT_METADATA
    for path in (metadata, metadata.with_name(metadata.name + ".bkp")):
        try:
            return int(json.loads(path.read_text())["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return 0


def incomplete_runs(output_dir: Path) -> list[Path]:
    """Lists the `<run-id>.incomplete` directories under `output_dir`, oldest first."""
    return sorted(Path(output_dir).glob(f"*/*/*{INCOMPLETE_SUFFIX}"), key=lambda p: p.name)


def finalize(run: RunDir) -> Path:
    """Renames the completed temporary directory into place; never replaces an existing run."""
    with locked(_reserve_lock(run.final.parent)):
        if run.final.exists():
            raise FileExistsError(f"Run directory already exists: {run.final}")
        os.rename(run.temp, run.final)
    (run.final / CLAIM_LOCK).unlink(missing_ok=True)
    return run.final


def _reserve_lock(parent: Path) -> Path:
    """A lock file per runs folder, kept in the system's temporary directory."""
    key = hashlib.sha1(str(parent.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"tfapps-reserve-{key}.lock"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Writes JSON atomically (temporary file, then rename)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(temp, path)


def read_run(run_dir: Path) -> dict[str, Any]:
    """Returns a run directory's parsed run.json.

    Raises:
        InvalidInput: when the directory has no run.json or it does not parse.
    """
    path = Path(run_dir) / RUN_JSON
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInput(
            f"{run_dir} is not a tfapps run directory: it has no {RUN_JSON}."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"Cannot parse {path}: {error}.") from None


def finished_runs(output_dir: Path) -> list[Path]:
    """Lists finished run directories (`<task>/<dataset>/<run-id>/run.json`), oldest first."""
    runs = [
        p.parent
        for p in Path(output_dir).glob(f"*/*/*/{RUN_JSON}")
        if not p.parent.name.endswith(INCOMPLETE_SUFFIX)
    ]
    return sorted(runs, key=lambda p: (p.name, str(p)))


def rebuild_summary(output_dir: Path) -> Path:
    """Rewrites `<output_dir>/summary.csv` with one row per finished run, atomically."""
    import pandas as pd

    output_dir = Path(output_dir)
    with locked(output_dir / f".{SUMMARY_CSV}.lock"):
        rows = []
        for run_dir in finished_runs(output_dir):
            with contextlib.suppress(InvalidInput):
                rows.append(summary_row(read_run(run_dir), run_dir))
        table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
        target = output_dir / SUMMARY_CSV
        temp = target.with_name(f".{SUMMARY_CSV}.{os.getpid()}.tmp")
        table.to_csv(temp, index=False)
        os.replace(temp, target)
    return target


def summary_row(run: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Returns the summary.csv row of one finished run."""
    headline, training = run.get("headline", {}), run.get("training", {})
    timings = run.get("timings", {})
    return {
        "task": run.get("task"),
        "dataset": run.get("dataset", {}).get("name"),
        "architecture": run.get("config", {}).get("architecture", "dense"),
        "run_id": run.get("run_id"),
        "split": headline.get("split"),
        "metric": headline.get("metric"),
        "value": headline.get("value"),
        "epochs": training.get("epochs_run"),
        "parameters": training.get("parameters"),
        "train_seconds": timings.get("train_seconds"),
        "examples_per_second": training.get("examples_per_second"),
        "seconds": timings.get("total_seconds"),
        "finished_at": run.get("finished_at"),
        "path": str(run_dir),
    }


@contextlib.contextmanager
def locked(lock_path: Path):
    """Holds an exclusive `flock` on `lock_path` (created if needed) inside the block."""
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
