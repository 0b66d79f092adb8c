"""The time budget of a search: seconds spent across sessions (a resumed search counts the
time before its interruption), which trials still fit, and when a running one must end."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from tfapps.runs import write_json

SAVE_SECONDS = 5.0  # the spent time is written at least this often, so a kill loses little
FIRST_TRIAL_SHARE = 0.5  # with no trial finished, a trial may use this share of what is left


class Budget:
    """Seconds of a search's budget: spent (across sessions, kept in `path`) and left.

    A new trial starts only when the finished trials' median duration fits in what is left
    after the final training's expected time (`reserve`); a running trial ends at
    `deadline`. The first trial, with nothing to estimate from, may use
    `FIRST_TRIAL_SHARE` of the budget.

    Args:
        seconds: the budget; `None` for no limit.
        path: the JSON file that keeps the seconds spent.
    """

    def __init__(self, seconds: float | None, path: Path) -> None:
        self.seconds, self.path = seconds, path
        self._before = json.loads(path.read_text())["spent"] if path.is_file() else 0.0
        self._session = time.monotonic()
        self._saved = self._session
        self.refused: dict[str, float] | None = None  # why the last trial did not start

    @property
    def spent(self) -> float:
        """Seconds spent on the search so far, in every session."""
        return self._before + time.monotonic() - self._session

    @property
    def left(self) -> float | None:
        """Seconds left (negative when overrun); `None` without a budget."""
        return None if self.seconds is None else self.seconds - self.spent

    def save(self, force: bool = False) -> None:
        """Writes the seconds spent, when `SAVE_SECONDS` passed since the last write (or
        `force`)."""
        now = time.monotonic()
        if force or now - self._saved >= SAVE_SECONDS:
            write_json(self.path, {"spent": self.spent, "refused": self.refused})
            self._saved = now

    def admits(self, trial_seconds: list[float], reserve: float | None) -> bool:
        """Whether a new trial fits: the median of `trial_seconds` (finished trials) within
        what is left after `reserve`. Always true without a budget or a finished trial. A
        refusal is kept in `refused` (and the budget's file): the seconds usable and needed.

        Args:
            trial_seconds: wall seconds of the finished trials.
            reserve: seconds the final training is expected to take (`None`: unknown).
        """
        self.refused = None
        if self.seconds is None or not trial_seconds:
            return True
        usable, needed = self.left - (reserve or 0.0), statistics.median(trial_seconds)
        if usable >= needed:
            return True
        self.refused = {"usable_seconds": usable, "trial_seconds": needed}
        self.save(force=True)
        return False

    def deadline(self, reserve: float | None) -> float | None:
        """When a trial starting now must end, as a `time.time()` instant: the budget's end
        less `reserve`, or `FIRST_TRIAL_SHARE` of what is left when `reserve` is unknown;
        `None` without a budget."""
        if self.seconds is None:
            return None
        left = self.left
        usable = left * FIRST_TRIAL_SHARE if reserve is None else left - reserve
        return time.time() + max(0.0, usable)
