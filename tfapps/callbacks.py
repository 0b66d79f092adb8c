"""tfapps' Keras callbacks: progress, signals at step ends, periodic checkpoints, epoch
timing and early stopping."""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

import keras

from tfapps.config import RunConfig
from tfapps.errors import TerminationRequest
from tfapps.progress import bar, clock

log = logging.getLogger("tfapps")
TICK_SECONDS = 0.5  # a terminal's progress lines are redrawn at least this often


class TrainingProgress(keras.callbacks.Callback):
    """Progress a person can follow, in place of Keras' own bar (fit runs with `verbose=0`).

    On a terminal, two lines are redrawn in place: the run (epoch, time spent, time left if
    every epoch runs, the last epoch's metrics) and the current epoch (steps, examples per
    second, time left). A thread redraws them every `TICK_SECONDS`, so the clocks move even
    while TensorFlow runs a group of steps; a 1,000-epoch run prints no more lines than a
    short one. Without a terminal (a log file, CI), one line per epoch.

    Args:
        examples_per_step: the global batch size, for the examples-per-second rate.
        stream: where to write. Defaults to `sys.stdout`.
    """

    def __init__(self, examples_per_step: int, stream: TextIO | None = None) -> None:
        super().__init__()
        self.examples_per_step = examples_per_step
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drawn_lines = 0
        self.phase, self.step, self.last = "starting", 0, {}

    def on_train_begin(self, logs=None):
        self.epochs, self.steps = self.params.get("epochs") or 0, self.params.get("steps")
        self.run_started = self.epoch_started = time.monotonic()
        self.epoch, self.first_epoch = 0, None
        if self.live:
            threading.Thread(target=self._tick, daemon=True).start()

    def on_epoch_begin(self, epoch, logs=None):
        with self._lock:
            self.epoch, self.step, self.phase = epoch, 0, "training"
            self.first_epoch = epoch if self.first_epoch is None else self.first_epoch
            self.epoch_started = time.monotonic()
        self._draw()

    def on_train_batch_end(self, batch, logs=None):
        with self._lock:
            self.step = batch + 1
        self._draw()

    def on_test_begin(self, logs=None):
        with self._lock:
            self.phase = "validating"

    def on_epoch_end(self, epoch, logs=None):
        with self._lock:
            self.last, self.phase = dict(logs or {}), "starting"
            if self.steps is None:
                self.steps = self.step
        if not self.live:
            seconds = time.monotonic() - self.epoch_started
            self._print(f"epoch {epoch + 1}/{self.epochs} {seconds:.1f}s {self._metrics()}")
        self._draw()

    def on_train_end(self, logs=None):
        self._stop.set()
        with self._lock:
            if self.live:
                self._clear()
            seconds = time.monotonic() - self.run_started
            self._print(f"trained {self.epoch + 1} epochs in {clock(seconds)}; {self._metrics()}")

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self._draw()

    def _draw(self) -> None:
        if not self.live:
            return
        with self._lock:
            if self._stop.is_set():
                return
            now = time.monotonic()
            done = self.epoch - (self.first_epoch or 0)
            per_epoch = (now - self.run_started) / done if done else None
            left = f", {clock(per_epoch * (self.epochs - self.epoch))} left" if per_epoch else ""
            run = (
                f"epoch {self.epoch + 1}/{self.epochs} {bar((self.epoch) / max(1, self.epochs))} "
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
            width = shutil.get_terminal_size().columns - 1  # a wrapped line could not be redrawn
            self._clear()
            self.stream.write(f"{run[:width]}\x1b[K\n{current[:width]}\x1b[K")
            self.stream.flush()
            self._drawn_lines = 2

    def _clear(self) -> None:
        if self._drawn_lines:
            self.stream.write("\r\x1b[K" + "\x1b[1A\r\x1b[K" * (self._drawn_lines - 1))
            self._drawn_lines = 0

    def _metrics(self) -> str:
        shown = {k: v for k, v in self.last.items() if k not in ("learning_rate", "seconds")}
        return " ".join(f"{name} {value:.4g}" for name, value in shown.items())

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


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


def early_stopping(config: RunConfig) -> keras.callbacks.EarlyStopping:
    """Early stopping on the validation loss, restoring the best epoch's weights.

    Warns when `config.start_from_epoch` covers every epoch, which turns it off.

    Args:
        config: the run's options (`epochs`, `patience`, `start_from_epoch`).
    """
    if config.start_from_epoch >= config.epochs:
        log.warning(
            "early stopping is off: --start-from-epoch %d ignores all %d epochs (--epochs), "
            "so every epoch runs and the last one's weights are kept",
            config.start_from_epoch,
            config.epochs,
        )
    return keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=config.patience,
        start_from_epoch=config.start_from_epoch,
        restore_best_weights=True,
    )
