"""Run directories on disk: reserving an id, claiming, publishing, the locks around them, and
listing the runs of an output directory.

A run is written into `<output>/<task>/<dataset>/<run-id>.incomplete/` and renamed to
`<run-id>/` only once every file is in place (`publish`), so a crash never leaves a
half-written run where finished runs live, and a second run never overwrites the first.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import filelock

from tfapps.errors import InvalidInput
from tfapps.runs import (
    CLAIM_LOCK,
    INCOMPLETE_SUFFIX,
    RUN_JSON,
    SEARCH_DIR,
    RunRecord,
    finished_epochs,
)


@dataclass
class RunDir:
    """A reserved run: written into `temp`, renamed to `final` by `publish`.

    Args:
        run_id: the UTC start time, e.g. `20261127T033405Z` (with `-2`, ... when taken).
        temp: the `<run-id>.incomplete` directory the run is written into.
        final: where the finished run lives.
    """

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
    with _reserve_lock(parent):  # no id is taken while another run renames into it
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


def claim(run: RunDir) -> filelock.BaseFileLock:
    """Takes the run's claim lock for this process, without waiting; `is_running` probes it.

    Returns:
        The held lock; the caller releases it (`release()`) when the run ends.

    Raises:
        InvalidInput: when another process holds it, that is, the run is still going.
    """
    lock = filelock.FileLock(run.temp / CLAIM_LOCK, blocking=False, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise InvalidInput(
            f"Run {run.run_id} is still running in another process; wait for "
            "it, or stop it before resuming."
        ) from None
    return lock


def publish(run: RunDir) -> Path:
    """Renames the completed temporary directory into place; never replaces an existing run.

    Raises:
        FileExistsError: when a run directory already holds the final name.
    """
    with _reserve_lock(run.final.parent):
        if run.final.exists():
            raise FileExistsError(f"Run directory already exists: {run.final}")
        os.rename(run.temp, run.final)
    (run.final / CLAIM_LOCK).unlink(missing_ok=True)
    return run.final


def _reserve_lock(parent: Path) -> filelock.BaseFileLock:
    """A lock per runs folder (blocking), its file in the system's temporary directory."""
    key = hashlib.sha1(str(parent.resolve()).encode()).hexdigest()[:16]
    return filelock.FileLock(Path(tempfile.gettempdir()) / f"tfapps-reserve-{key}.lock")


def finished_runs(output_dir: Path) -> list[Path]:
    """Lists finished run directories (`<task>/<dataset>/<run-id>/run.json`), oldest first."""
    found = [
        p.parent
        for p in Path(output_dir).glob(f"*/*/*/{RUN_JSON}")
        if not p.parent.name.endswith(INCOMPLETE_SUFFIX)
    ]
    return sorted(found, key=lambda p: (p.name, str(p)))


def incomplete_runs(output_dir: Path) -> list[Path]:
    """Lists the `<run-id>.incomplete` directories under `output_dir`, oldest first."""
    return sorted(Path(output_dir).glob(f"*/*/*{INCOMPLETE_SUFFIX}"), key=lambda p: p.name)


def is_running(run_dir: Path) -> bool:
    """True while a process holds the claim lock of the (incomplete) run in `run_dir`
    (`run_dirs.claim`); probes it without waiting."""
    lock = run_dir / CLAIM_LOCK
    if not lock.exists():
        return False
    try:
        with filelock.FileLock(lock, blocking=False):
            return False
    except filelock.Timeout:
        return True


def describe_runs(directory: Path, incomplete: bool = False) -> list[str]:
    """One line per run under `directory`, for `tfapps runs`: path and status, and for
    incomplete runs the epochs done (a search's trials done) and the command that resumes
    each.

    Args:
        directory: an `--output-dir`.
        incomplete: list the `.incomplete` runs instead of the finished ones.
            Defaults to False.

    Raises:
        InvalidInput: when `directory` does not exist.
    """
    if not directory.is_dir():
        raise InvalidInput(f"Runs directory does not exist: {directory}")
    lines = []
    for run_dir in incomplete_runs(directory) if incomplete else finished_runs(directory):
        has_record = (run_dir / RUN_JSON).is_file()
        record = RunRecord.load(run_dir) if has_record else RunRecord()
        status = "running now" if incomplete and is_running(run_dir) else record.status
        line = f"{run_dir}  {status or 'unknown'}"
        if incomplete and record.config:
            run_id = run_dir.name.removesuffix(INCOMPLETE_SUFFIX)
            try:
                command = record.run_config.resume_command(run_id, record.tune.get("argv"))
            except InvalidInput as error:
                command = f"cannot be resumed ({error})"
            done = (
                f"trials done: {len(list((run_dir / SEARCH_DIR).glob('trial_*/record.json')))}"
                if record.tune
                else f"epochs done: {finished_epochs(run_dir)}"
            )
            line += f"  {done}  resume: {command}"
        lines.append(line)
    return lines
