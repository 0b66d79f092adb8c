"""The options of `tfapps tune` besides the task's own: the tuner, trials, time budget,
`--space` and folds. No TensorFlow or KerasTuner here: the CLI reads them for `--help`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from tfapps.config import checks
from tfapps.config.fields import check_fields, documented, option, to_argv

TUNERS = ("bayesian", "random", "hyperband")
DEFAULT_MAX_TRIALS = 20  # without --time-budget
# Options a resume may set anew: they bound the search, not what a trial trains.
CHANGEABLE_ON_RESUME = ("time_budget", "max_trials")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Override:
    """One `--space NAME=...` value, as typed.

    Args:
        name: the knob.
        kind: `"fixed"` (`NAME=VALUE`), `"range"` (`NAME=LOW..HIGH`) or `"choices"`
            (`NAME=A,B,C`).
        values: the value, the two bounds or the choices, as typed.
        text: the whole `NAME=...` item, for error messages.
    """

    name: str
    kind: str
    values: tuple[str, ...]
    text: str


@documented
@dataclass
class TuneOptions:
    """How `tfapps tune` searches (the task's own options set where the search starts)."""

    tuner: str = option(
        "bayesian",
        "the KerasTuner oracle: bayesian (Gaussian-process Bayesian optimization after as "
        "many random trials as knobs), random, or hyperband (successive halving of epochs, "
        "up to the task's own epochs). The first trial is always the defaults.",
        choices=TUNERS,
    )
    max_trials: int | None = option(
        None,
        "the most trials to run.",
        automatic=f"{DEFAULT_MAX_TRIALS}, or no limit with --time-budget",
        minimum=1,
    )
    time_budget: str | None = option(
        None,
        "wall time of the search and the final training, in seconds or with a unit: 300, "
        "300s, 5m, 1.5h. No trial starts that finished trials say cannot end in time, and "
        "a running trial ends at the limit with its best epoch kept.",
        automatic="no limit",
        example="30m",
    )
    space: tuple[str, ...] = option(
        (),
        "fix or narrow one knob of the task's search space (repeat the option): "
        "NAME=VALUE fixes it, NAME=LOW..HIGH narrows a number, NAME=A,B,C picks among "
        "values. An unknown name is refused with the task's knobs listed.",
        repeated=True,
    )
    folds: int | None = option(
        None,
        "score each trial by k-fold cross-validation on train + validation (the mean over "
        "the folds), for small data.",
        automatic="one training on train, scored on validation",
        minimum=2,
    )

    def __post_init__(self) -> None:
        self.space = tuple(self.space)
        check_fields(self)
        if self.time_budget is not None:
            budget_seconds(self.time_budget)
        parse_space(self.space)

    @property
    def budget(self) -> float | None:
        """`--time-budget` in seconds, `None` for no limit."""
        return None if self.time_budget is None else budget_seconds(self.time_budget)

    @property
    def trial_limit(self) -> int | None:
        """The most trials: `--max-trials`, else `DEFAULT_MAX_TRIALS` without a budget."""
        if self.max_trials is not None:
            return self.max_trials
        return None if self.time_budget is not None else DEFAULT_MAX_TRIALS

    @property
    def overrides(self) -> dict[str, Override]:
        """`--space`, knob name to its override."""
        return parse_space(self.space)

    def to_dict(self) -> dict[str, Any]:
        """The options as run.json records them."""
        return {
            "tuner": self.tuner,
            "max_trials": self.max_trials,
            "time_budget": self.time_budget,
            "space": list(self.space),
            "folds": self.folds,
        }

    def to_argv(self) -> list[str]:
        """The command-line options that rebuild these options (`fields.to_argv`)."""
        return to_argv(self)


def budget_seconds(text: str) -> float:
    """`--time-budget` in seconds: `300`, `300s`, `5m`, `1.5h`.

    Raises:
        InvalidInput: anything else, or a budget that is not above 0.
    """
    match = _BUDGET.match(str(text))
    seconds = float(match[1]) * _UNITS[match[2].lower()] if match else math.nan
    if not seconds > 0 or not math.isfinite(seconds):
        raise checks.invalid(
            "time-budget", "seconds above 0, or a number with a unit s, m or h (300, 5m, 1h)", text
        )
    return seconds


def parse_space(items: tuple[str, ...]) -> dict[str, Override]:
    """Reads `--space` items (`NAME=VALUE`, `NAME=LOW..HIGH`, `NAME=A,B,C`).

    Whether a knob exists and takes the values is checked once the task declares its
    space (`tune.space.Space`); this checks the form.

    Raises:
        InvalidInput: an item of another form, bounds that are not numbers or not in
            order, or a knob given twice.
    """
    overrides: dict[str, Override] = {}
    for item in items:
        name, equals, value = (part.strip() for part in str(item).partition("="))
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not value:
            raise checks.invalid("space", "NAME=VALUE, NAME=LOW..HIGH or NAME=A,B,C", item)
        if name in overrides:
            raise checks.invalid("space", f"each knob once ({name} is given twice)", item)
        if ".." in value:
            low, _, high = (part.strip() for part in value.partition(".."))
            if not (_is_number(low) and _is_number(high)) or float(low) > float(high):
                raise checks.invalid("space", "NAME=LOW..HIGH with numbers LOW <= HIGH", item)
            overrides[name] = Override(name, "range", (low, high), item)
        elif "," in value:
            choices = tuple(part.strip() for part in value.split(","))
            if not all(choices):
                raise checks.invalid("space", "NAME=A,B,C without empty values", item)
            overrides[name] = Override(name, "choices", choices, item)
        else:
            overrides[name] = Override(name, "fixed", (value,), item)
    return overrides


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
