"""A run while it goes: where it is written, and run.json kept true at every step.

`open_output` checks the output directory (and, for `--resume`, finds the run and compares
options) before anything heavy loads; `RunRecorder` reserves or re-enters the run directory,
writes run.json at each stage, records an interruption or a failure, and publishes the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfapps import __version__, run_dirs, runs
from tfapps.config import RunConfig
from tfapps.data.info import DatasetInfo
from tfapps.errors import Interrupted, InvalidInput, TerminationRequest, WorkerLost

# Options that change neither the data nor the trained weights: a resume may set them anew.
IGNORED_ON_RESUME = ("quiet", "debug", "checkpoint_seconds", "steps_per_execution")


@dataclass
class RunOutput:
    """Where a run goes, checked before training starts.

    Args:
        output_dir: the `--output-dir`, known to be writable.
        parent: `<output_dir>/<task>/<dataset>`, the folder of this task's runs on this data.
        resumed: the interrupted run to continue, for `--resume`; else `None`.
        record: that run's record; else `None`.
    """

    output_dir: Path
    parent: Path
    resumed: run_dirs.RunDir | None = None
    record: runs.RunRecord | None = None


def open_output(config: RunConfig, resume: str | None, tuned: bool = False) -> RunOutput:
    """Checks the output directory and, for `resume`, finds the run and compares options.

    Args:
        config: the run's options.
        resume: `"latest"`, a run id, or `None` for a new run.
        tuned: the run is a search (`tfapps tune`). Defaults to False.

    Raises:
        InvalidInput: an output directory that cannot be written, no such interrupted run,
            a search resumed as a training run or the reverse, or options that contradict
            the interrupted run's.
    """
    output_dir = run_dirs.ensure_writable(config.output_dir)
    parent = output_dir / config.task / run_dirs.dataset_slug(config.dataset)
    if not resume:
        return RunOutput(output_dir, parent)
    run = run_dirs.resumable(parent, resume)
    record = runs.RunRecord.load(run.temp)
    if bool(record.tune) != tuned:
        command = record.run_config.resume_command(run.run_id, record.tune.get("argv"))
        kind = "a search (tfapps tune)" if record.tune else "a training run, not a search"
        raise InvalidInput(
            f"Invalid value for --resume: run {run.run_id} is {kind}; resume it with: {command}"
        )
    check_same_options(record.run_config, config, run.run_id)
    return RunOutput(output_dir, parent, run, record)


def check_same_options(original: RunConfig, requested: RunConfig, run_id: str) -> None:
    """Refuses a resume whose options contradict the interrupted run's.

    Raises:
        InvalidInput: naming each contradicting option, its value and the run's.
    """
    before, after = original.to_dict(), requested.to_dict()
    changed = [
        f"--{name.replace('_', '-')} {after[name]!r} (the run used {before[name]!r})"
        for name in before
        if name not in IGNORED_ON_RESUME and before[name] != after.get(name)
    ]
    if changed:
        raise InvalidInput(
            f"Invalid value for --resume: run {run_id} was started with other "
            f"options: {'; '.join(changed)}. Repeat its options, or start a new "
            "run without --resume."
        )


class RunRecorder:
    """Keeps a run's run.json up to date from the start of training to publication.

    Use it as a context manager around the run's steps: leaving the block by Ctrl-C or
    SIGTERM records the interruption and raises `Interrupted` (with the resume command);
    any other exception records the failure and propagates (a lost worker of a
    multi-worker run as `WorkerLost`). The run's claim is released either way.

    Args:
        run: the reserved or resumed run directory.
        record: its record, already marked running.
        config: the run's options (for the resume command).
    """

    def __init__(self, run: run_dirs.RunDir, record: runs.RunRecord, config: RunConfig):
        self.run, self.record, self.config = run, record, config
        self._claim = None

    @classmethod
    def start(
        cls,
        output: RunOutput,
        config: RunConfig,
        compute: dict[str, Any],
        dataset: DatasetInfo,
        versions: dict[str, str],
        timings: dict[str, float],
    ) -> RunRecorder:
        """Reserves a new run (or re-enters the resumed one) and records its start.

        Args:
            output: from `open_output`.
            config: the run's options.
            compute: `RuntimeSetup.describe()`.
            dataset: what was read.
            versions: Python's and the main packages' versions.
            timings: the seconds measured so far (`data_seconds`).
        """
        started_at = run_dirs.utc_now()
        if output.resumed is not None:
            run, record = output.resumed, output.record
            record.error = record.interrupted_at = None
            record.status = "running"
            record.resumed_at = [*record.resumed_at, started_at]
            record.timings = {**record.timings, **timings}
        else:
            run = run_dirs.reserve(output.parent)
            record = runs.RunRecord(
                tfapps_version=__version__,
                task=config.task,
                run_id=run.run_id,
                status="running",
                started_at=started_at,
                config=config.to_dict(),
                seed=config.seed,
                versions=versions,
                compute=compute,
                dataset=dataset,
                timings=dict(timings),
            )
        return cls(run, record, config)

    @property
    def directory(self) -> Path:
        """The `.incomplete` directory the run is written into."""
        return self.run.temp

    @property
    def trained_weights(self) -> Path:
        """Where the final weights wait, so a resume after training skips it."""
        return self.directory / runs.BACKUP_DIR / runs.TRAINED_WEIGHTS

    def set_status(self, status: str) -> None:
        """Records the run's stage (`"reporting"`: a resume from here skips training)."""
        self.record.status = status
        self.record.write(self.directory)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Records the block's wall time in seconds as `timings[name]`."""
        mark = time.perf_counter()
        yield
        self.record.timings[name] = time.perf_counter() - mark

    def complete(self, training: dict[str, Any], headline: dict[str, Any], seconds: float) -> Path:
        """Records the finished run, drops its checkpoint and publishes it; returns its path."""
        import shutil

        self.record.timings["total_seconds"] = seconds
        self.record.status = runs.COMPLETE
        self.record.finished_at = run_dirs.utc_now()
        self.record.training, self.record.headline = training, headline
        shutil.rmtree(self.directory / runs.BACKUP_DIR, ignore_errors=True)
        self.record.write(self.directory)
        return run_dirs.publish(self.run)

    def __enter__(self) -> RunRecorder:
        self._claim = run_dirs.claim(self.run)  # refuses a run another process is training
        self.record.write(self.directory)
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        try:
            if error is None:
                return False
            command = self.config.resume_command(self.run.run_id, self.record.tune.get("argv"))
            if isinstance(error, KeyboardInterrupt):
                self.record.status, self.record.interrupted_at = "interrupted", run_dirs.utc_now()
                self.record.write(self.directory)
                status = 143 if isinstance(error, TerminationRequest) else 130
                raise Interrupted(self.run.run_id, command, status) from None
            self.record.status, self.record.error = "failed", f"{kind.__name__}: {error}"
            self.record.write(self.directory)
            if self.config.strategy == "multi-worker" and _is_lost_worker(error):
                raise WorkerLost(self.run.run_id, _first_line(error), command) from None
            return False
        finally:
            self._claim.release()


def _is_lost_worker(error: BaseException) -> bool:
    """True for the error collective ops raise when a peer worker stopped responding."""
    import tensorflow as tf

    return isinstance(error, tf.errors.UnavailableError)


def _first_line(error: BaseException) -> str:
    """The first line of an error's message, without TensorFlow's `{{function_node ...}}`."""
    message = str(error).split("}}")[-1].strip()
    return message.splitlines()[0] if message else type(error).__name__
