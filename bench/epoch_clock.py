"""A Keras callback that times the training phase of every epoch and keeps its weights."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np


class EpochClock(keras.callbacks.Callback):
    """Times each epoch's training phase and saves the weights at the end of each epoch.

    The training phase runs from `on_epoch_begin` to the start of validation
    (`model.fit` calls `on_test_begin` on the same callbacks before it validates), or to
    `on_epoch_end` when there is no validation. Validation and the other callbacks' work
    at the end of an epoch are not counted.

    The weights go to `snapshot_dir` as one `.npz` file per epoch, outside the timed phase,
    so that they neither inflate the process's peak memory nor the epoch times; `snapshots()`
    reads them back for evaluation after training.

    Args:
        snapshot_dir: a directory of its own for the per-epoch weight files (created if
            missing).
    """

    def __init__(self, snapshot_dir: Path):
        super().__init__()
        self.snapshot_dir = Path(snapshot_dir)
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.epoch_seconds: list[float] = []
        self.fit_seconds = 0.0
        self._epoch_started: float | None = None

    def on_train_begin(self, logs=None):
        self._fit_started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.perf_counter()

    def on_test_begin(self, logs=None):
        self._stop_epoch_clock()

    def on_epoch_end(self, epoch, logs=None):
        self._stop_epoch_clock()
        np.savez(self._snapshot_path(len(self.epoch_seconds)), *self.model.get_weights())

    def on_train_end(self, logs=None):
        self.fit_seconds = time.perf_counter() - self._fit_started

    def snapshots(self) -> Iterator[list[np.ndarray]]:
        """Yields the weights saved at the end of each epoch, first epoch first."""
        for epoch in range(1, len(self.epoch_seconds) + 1):
            with np.load(self._snapshot_path(epoch)) as saved:
                yield [saved[f"arr_{index}"] for index in range(len(saved.files))]

    def _stop_epoch_clock(self) -> None:
        if self._epoch_started is not None:  # on_test_begin also fires for evaluate() calls
            self.epoch_seconds.append(time.perf_counter() - self._epoch_started)
            self._epoch_started = None

    def _snapshot_path(self, epoch: int) -> Path:
        return self.snapshot_dir / f"epoch{epoch:04d}.npz"
