"""Value checks for run options: each failure names the option and the value received."""

from __future__ import annotations

import math
from typing import Any

from tfapps.errors import InvalidInput


def invalid(option: str, expected: str, received: Any) -> InvalidInput:
    """Builds the one-line error for a bad option value, Keras style."""
    message = f"Invalid value for --{option}: expected {expected}. Received: {received!r}"
    return InvalidInput(message)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_choice(value: Any, option: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise invalid(option, "one of " + "|".join(choices), value)


def check_rate(value: Any, option: str = "dropout") -> None:
    if not is_finite_number(value) or not 0 <= value < 1:
        raise invalid(option, "a rate in [0, 1)", value)


def check_int(value: Any, option: str, minimum: int) -> None:
    if not is_int(value) or value < minimum:
        raise invalid(option, f"an integer >= {minimum}", value)


def check_positive_ints(values: Any, option: str, example: str) -> tuple[int, ...]:
    """Returns `values` as a non-empty tuple of integers >= 1, or raises naming the option.

    Args:
        values: the option's value, a sequence.
        option: the option's name without dashes, such as `"filters"`.
        example: a valid value as typed, such as `"32,64"`.
    """
    values = tuple(values)
    if not values or not all(is_int(v) and v >= 1 for v in values):
        expected = f"comma-separated integers >= 1, such as {example}"
        raise invalid(option, expected, ",".join(map(str, values)))
    return values
