"""tfapps' Keras callbacks: signals at step ends, periodic checkpoints, epoch timing, early
stopping, and how much progress to print."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
from collections.abc import Iterator

import keras

from tfapps.config import RunConfig
from tfapps.errors import TerminationRequest

log = logging.getLogger("tfapps")


def progress_verbosity(quiet: bool) -> int:
    """Keras `verbose`: 0 when quiet, a live progress bar on a terminal, else one line an epoch."""
    if quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


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
