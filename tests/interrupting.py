"""A Keras callback that interrupts `fit` as Ctrl-C or a kill would, for the tests that resume
a run. A module of its own, not conftest.py, so collecting the tests that need no Keras does
not import it."""

from __future__ import annotations

import keras


class InterruptAt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the start of epoch `epoch` (counted from 0).

    Args:
        epoch: the epoch that never starts.
    """

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.epoch:
            raise KeyboardInterrupt
