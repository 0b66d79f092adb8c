"""Progress a person can follow, in a terminal or a log: one display for every long piece of
work (training, through `callbacks.TrainingProgress`; decoding a folder, through `Progress`).

On a terminal (`stream.isatty()`) the work's live lines are redrawn in place: on each update
at most every `REDRAW_SECONDS`, and by a thread at least every `TICK_SECONDS`, so the clocks
move while TensorFlow runs a group of steps. The work ends with one closing line, however
long it ran. Without a terminal (CI, a log file) nothing is redrawn: a status line is printed
after the first unit of work (an epoch, ...), then at most every `LOG_SECONDS`, and after the
last, then the closing line. Owners that print nothing (`--quiet`) make no display.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_SECONDS = 0.1
TICK_SECONDS = 0.5  # the README promises live lines redrawn at least twice a second
LOG_SECONDS = 5.0
BAR_WIDTH = 24


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A text bar such as `[=========>......]` for a fraction in [0, 1]."""
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    head = ">" if 0 < filled < width else ""
    return "[" + "=" * max(0, filled - len(head)) + head + "." * (width - filled) + "]"


def figure(value: float) -> str:
    """A number as a table or a log line shows it: 4 significant digits (`0.6849`, `1317`),
    whole with thousands separators from 10,000 on (`13,170`, never `1.317e+04`)."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def clock(seconds: float) -> str:
    """Seconds as `m:ss`, or `h:mm:ss` from an hour on."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressDisplay:
    """Shows one piece of work: live lines on a terminal, status lines elsewhere.

    The owner keeps the work's state and changes it under `lock`; the display asks for text
    only when it shows something.

    Args:
        live_lines: returns the lines drawn on a terminal (each cut to the terminal's width).
        status_line: returns the line printed in a log.
        stream: where to write. Defaults to `sys.stdout`.
        log_seconds: the least time between two status lines outside a terminal. Defaults to
            `LOG_SECONDS`.
    """

    def __init__(
        self,
        live_lines: Callable[[], list[str]],
        status_line: Callable[[], str],
        stream: TextIO | None = None,
        log_seconds: float = LOG_SECONDS,
    ) -> None:
        self.live_lines, self.status_line = live_lines, status_line
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.log_seconds = log_seconds
        self.lock = threading.RLock()
        self._stopped = threading.Event()
        self._drawn_lines = 0
        self._drawn_at = self._logged_at = None
        self._held_back = False

    def start(self) -> None:
        """Draws the live lines and starts redrawing them (on a terminal)."""
        if self.live:
            self.refresh(force=True)
            threading.Thread(target=self._tick, daemon=True).start()

    def refresh(self, force: bool = False) -> None:
        """Redraws the live lines if `REDRAW_SECONDS` have passed (or `force`); on a terminal
        only."""
        with self.lock:
            now = time.monotonic()
            if not self.live or self._stopped.is_set():
                return
            if not force and self._drawn_at is not None and now - self._drawn_at < REDRAW_SECONDS:
                return
            width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be redrawn
            self._clear()
            lines = self.live_lines()
            self.stream.write("\n".join(line[:width] + "\x1b[K" for line in lines))
            self.stream.flush()
            self._drawn_lines, self._drawn_at = len(lines), now

    def unit_done(self) -> None:
        """Records that a unit of work finished: outside a terminal, prints the status line if
        it is the first or `log_seconds` have passed since the last line printed, else holds it
        back for `close`; on a terminal, refreshes the live lines."""
        if self.live:
            self.refresh()
            return
        with self.lock:
            now = time.monotonic()
            self._held_back = (
                self._logged_at is not None and now - self._logged_at < self.log_seconds
            )
            if not self._held_back:
                self._print(self.status_line())

    def log(self, line: str) -> None:
        """Prints `line` outside a terminal (where no live line shows the work)."""
        if not self.live:
            with self.lock:
                self._print(line)

    def stop(self) -> None:
        """Stops redrawing, leaving the live lines drawn as they last stood (the work failed or
        was interrupted), so what follows starts on a line of its own."""
        with self.lock:
            if self.live and not self._stopped.is_set():
                self.refresh(force=True)
                self.stream.write("\n")
                self.stream.flush()
            self._stopped.set()

    def close(self, line: str, last_status: bool = True) -> None:
        """Ends the work with one closing line: on a terminal in place of the live lines;
        elsewhere after the status line held back last (when `last_status`).

        Args:
            line: the closing line.
            last_status: print a held-back status line first. Defaults to True.
        """
        with self.lock:
            self._stopped.set()
            self._clear()
            if self._held_back and last_status:
                self._print(self.status_line())
            self._held_back = False
            self._print(line)

    def _tick(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            self.refresh(force=True)

    def _clear(self) -> None:
        if self._drawn_lines:
            self.stream.write("\r\x1b[K" + "\x1b[1A\r\x1b[K" * (self._drawn_lines - 1))
            self._drawn_lines = 0

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
        self._logged_at = time.monotonic()


class Progress:
    """Counts done units of a known total, for long work outside `model.fit` (decoding a
    folder, ...), and shows them with rate and time left.

    Use it as a context manager: leaving the block early (an error) stops the display.

    Args:
        what: what is done, such as `"decoding images"`.
        total: the number of units.
        unit: the units' name, such as `"images"`.
        quiet: print nothing. Defaults to False.
        stream: where to print. Defaults to `sys.stdout`.
        log_seconds: the least time between two status lines outside a terminal. Defaults to
            `LOG_SECONDS`.
    """

    def __init__(
        self,
        what: str,
        total: int,
        unit: str,
        quiet: bool = False,
        stream: TextIO | None = None,
        log_seconds: float = LOG_SECONDS,
    ) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.done = 0
        self.started = time.monotonic()
        self.display = None
        if not quiet:
            self.display = ProgressDisplay(
                lambda: [self._status()], self._status, stream, log_seconds
            )
            self.display.log(f"{what}: {total:,} {unit}...")
            self.display.start()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.display is not None:
            self.display.stop()

    def advance(self, units: int = 1) -> None:
        """Adds done units."""
        if self.display is None:
            self.done += units
            return
        with self.display.lock:
            self.done += units
        self.display.unit_done()

    def finish(self) -> float:
        """Ends the display with the units done and the time taken; returns the seconds."""
        seconds = time.monotonic() - self.started
        if self.display is not None:
            line = f"{self.what}: {self.done:,} {self.unit} in {seconds:.1f} s"
            self.display.close(line, last_status=False)
        return seconds

    def _status(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        return (
            f"{self.what} {bar(self.done / max(1, self.total))} {self.done:,}/{self.total:,} "
            f"{self.unit}, {rate:,.0f}/s, {clock(left)} left"
        )
