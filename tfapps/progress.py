"""Progress a person can follow, for long work outside `model.fit` (decoding a folder, ...).

On a terminal one line is redrawn in place, at most ten times a second; without a terminal
(CI, a log file) a line is printed when the work starts and one when it ends. Nothing is
printed when `quiet`.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAW_SECONDS = 0.1
BAR_WIDTH = 24


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A text bar such as `[=========>......]` for a fraction in [0, 1]."""
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    head = ">" if 0 < filled < width else ""
    return "[" + "=" * max(0, filled - len(head)) + head + "." * (width - filled) + "]"


def clock(seconds: float) -> str:
    """Seconds as `m:ss`, or `h:mm:ss` from an hour on."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Counts done units of a known total and shows them with rate and time left.

    Args:
        what: what is done, such as `"decoding images"`.
        total: the number of units.
        unit: the units' name, such as `"images"`.
        quiet: print nothing. Defaults to False.
        stream: where to print. Defaults to `sys.stdout`.
    """

    def __init__(
        self, what: str, total: int, unit: str, quiet: bool = False, stream: TextIO | None = None
    ) -> None:
        self.what, self.total, self.unit, self.quiet = what, total, unit, quiet
        self.stream = stream or sys.stdout
        self.live = not quiet and self.stream.isatty()
        self.done = 0
        self.started = self._drawn = time.monotonic()
        if not quiet and not self.live:
            self._print(f"{what}: {total:,} {unit}...")

    def advance(self, units: int = 1) -> None:
        """Adds done units; redraws the line on a terminal."""
        self.done += units
        now = time.monotonic()
        if self.live and (now - self._drawn >= REDRAW_SECONDS or self.done >= self.total):
            self._drawn = now
            elapsed = now - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            self.stream.write(
                f"\r{self.what} {bar(self.done / max(1, self.total))} {self.done:,}/"
                f"{self.total:,} {self.unit}, {rate:,.0f}/s, {clock(left)} left\x1b[K"
            )
            self.stream.flush()

    def finish(self) -> float:
        """Ends the line; returns the seconds the work took."""
        seconds = time.monotonic() - self.started
        if self.live:
            self.stream.write("\r\x1b[K")
        if not self.quiet:
            self._print(f"{self.what}: {self.done:,} {self.unit} in {seconds:.1f} s")
        return seconds

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
