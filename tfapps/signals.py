"""SIGTERM handling for a whole command: a `kill` stops a run the way Ctrl-C does."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

from tfapps.errors import TerminationRequest


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turns SIGTERM into a `TerminationRequest` (a KeyboardInterrupt) inside the block.

    Outside the main thread, signals are left alone.
    """

    def handler(signum, frame):
        raise TerminationRequest()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
