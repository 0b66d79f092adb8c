"""tfapps' Keras callbacks: progress, signals at step ends, periodic checkpoints, epoch
timing and early stopping."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import TextIO

import keras

from tfapps.config import RunConfig
from tfapps.errors import TerminationRequest
from tfapps.progress import LOG_SECONDS, ProgressDisplay, bar, clock, figure

log = logging.getLogger("tfapps")


class TrainingProgress(keras.callbacks.Callback):
    """Progress a person can follow, in place of Keras' own bar (fit runs with `verbose=0`),
    shown by a `progress.ProgressDisplay`.

    On a terminal, two live lines: the run (epoch, time spent, time left if every epoch runs,
    the last epoch's metrics) and the current epoch (steps, examples per second, time left);
    a 1,000-epoch run leaves one closing line. Without a terminal (a log file, CI), a line for
    the first epoch, then at most one every `log_seconds`, the last epoch's, and the closing
    line.

    Use it as a context manager around `fit`: an error or Ctrl-C, after which Keras calls no
    `on_train_end`, stops the live lines.

    Args:
        examples_per_step: the global batch size, for the examples-per-second rate.
        stream: where to write. Defaults to `sys.stdout`.
        log_seconds: the least time between two epoch lines outside a terminal. Defaults to
            `progress.LOG_SECONDS`.
    """

    def __init__(
        self,
        examples_per_step: int,
        stream: TextIO | None = None,
        log_seconds: float = LOG_SECONDS,
    ) -> None:
        super().__init__()
        self.examples_per_step = examples_per_step
        self.display = ProgressDisplay(self._live_lines, self._epoch_line, stream, log_seconds)
        self.phase, self.step, self.last, self.epoch_seconds = "starting", 0, {}, 0.0

    def __enter__(self) -> TrainingProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.display.stop()

    def on_train_begin(self, logs=None):
        with self.display.lock:
            self.epochs, self.steps = self.params.get("epochs") or 0, self.params.get("steps")
            self.run_started = self.epoch_started = time.monotonic()
            self.epoch, self.first_epoch = 0, None
        self.display.start()

    def on_epoch_begin(self, epoch, logs=None):
        with self.display.lock:
            self.epoch, self.step, self.phase = epoch, 0, "training"
            self.first_epoch = epoch if self.first_epoch is None else self.first_epoch
            self.epoch_started = time.monotonic()
        self.display.refresh()

    def on_train_batch_end(self, batch, logs=None):
        with self.display.lock:
            self.step = batch + 1
        self.display.refresh()

    def on_test_begin(self, logs=None):
        with self.display.lock:
            self.phase = "validating"

    def on_epoch_end(self, epoch, logs=None):
        with self.display.lock:
            self.last, self.phase = dict(logs or {}), "starting"
            self.epoch_seconds = time.monotonic() - self.epoch_started
            if self.steps is None:
                self.steps = self.step
        self.display.unit_done()

    def on_train_end(self, logs=None):
        seconds = time.monotonic() - self.run_started
        trained = f"trained {self.epoch + 1} epochs in {clock(seconds)}; {self._metrics()}"
        self.display.close(trained)

    def _epoch_line(self) -> str:
        return f"epoch {self.epoch + 1}/{self.epochs} {self.epoch_seconds:.1f}s {self._metrics()}"

    def _live_lines(self) -> list[str]:
        now = time.monotonic()
        done = self.epoch - (self.first_epoch or 0)
        per_epoch = (now - self.run_started) / done if done else None
        left = f", {clock(per_epoch * (self.epochs - self.epoch))} left" if per_epoch else ""
        run = (
            f"epoch {self.epoch + 1}/{self.epochs} {bar(self.epoch / max(1, self.epochs))} "
            f"{clock(now - self.run_started)}{left} {self._metrics()}"
        )
        elapsed = now - self.epoch_started
        rate = self.step * self.examples_per_step / elapsed if elapsed > 0 else 0.0
        total = self.steps or 0
        epoch_left = elapsed / self.step * (total - self.step) if self.step and total else 0
        current = (
            f"  {self.phase} {bar(self.step / total if total else 0)} "
            f"{self.step}/{total or '?'} steps, {rate:,.0f} examples/s, "
            f"{clock(epoch_left)} left"
        )
        return [run, current]

    def _metrics(self) -> str:
        shown = {k: v for k, v in self.last.items() if k not in ("learning_rate", "seconds")}
        return " ".join(f"{name} {figure(value)}" for name, value in shown.items())


class StopAtStepEnd(keras.callbacks.Callback):
    """Defers SIGINT and SIGTERM to the end of the current training or validation step.

    Inside `deferring_signals()`, a signal only records itself; the next step end raises
    `KeyboardInterrupt` (SIGINT) or `TerminationRequest` (SIGTERM), so a checkpoint being
    written when the signal arrives is always written whole.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.received: int | None = None

    @contextlib.contextmanager
    def deferring_signals(self) -> Iterator[None]:
        """Installs the recording handlers for the block (main thread only)."""

        def record(signum, frame):
            self.received = signum

        try:
            previous = {s: signal.signal(s, record) for s in self.SIGNALS}
        except ValueError:  # not the main thread: signals stay as they are
            yield
            return
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def raise_if_signalled(self, batch=None, logs=None) -> None:
        """Raises the interruption a recorded signal asks for; does nothing otherwise."""
        if self.received == signal.SIGTERM:
            raise TerminationRequest()
        if self.received is not None:
            raise KeyboardInterrupt()

    on_train_batch_end = on_test_batch_end = raise_if_signalled


class PeriodicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore` (double checkpoint, kept after training) that saves at an
    epoch end only once `interval` seconds have passed since training began or it last saved.

    Saving a model's weights and optimizer state takes tens of milliseconds, longer than a
    whole epoch of a small table; epochs longer than `interval` are all saved.

    Args:
        backup_dir: the checkpoint directory.
        interval: seconds between saves; 0 saves every epoch.
    """

    def __init__(self, backup_dir: str, interval: float):
        super().__init__(backup_dir, double_checkpoint=True, delete_checkpoint=False)
        self.interval = interval

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._saved_at = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self._saved_at >= self.interval:
            super().on_epoch_end(epoch, logs)
            self._saved_at = time.monotonic()


class EpochStats(keras.callbacks.Callback):
    """Adds `learning_rate` and `seconds` (wall time of the epoch) to each epoch's logs.

    Place it before loggers such as `CSVLogger`, which then write both columns.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )
            logs["seconds"] = round(time.perf_counter() - self._started, 3)


def early_stopping(config: RunConfig, epochs: int) -> keras.callbacks.EarlyStopping:
    """Early stopping on the validation loss, restoring the best epoch's weights.

    Warns when `config.start_from_epoch` covers every epoch, which turns it off.

    Args:
        config: the run's options (`patience`, `start_from_epoch`).
        epochs: the most epochs the run trains.
    """
    if config.start_from_epoch >= epochs:
        log.warning(
            "early stopping is off: --start-from-epoch %d ignores all %d epochs (--epochs), "
            "so every epoch runs and the last one's weights are kept",
            config.start_from_epoch,
            epochs,
        )
    return keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=config.patience,
        start_from_epoch=config.start_from_epoch,
        restore_best_weights=True,
    )
