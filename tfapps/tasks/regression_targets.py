"""What regress reads from its target's values before training (NumPy only): values far from
the rest (typed with extra zeros, say), how many orders of magnitude the target spans, and
whether it is fitted as `log1p` (`--target-transform`).

Distances are robust: the training median and its median absolute deviation (MAD, scaled by
1.4826 to a normal distribution's standard deviation), on the log scale (`log1p`) for a target
of no negative value, where a price typed with three extra zeros is 6.9 away from the others
whatever their spread, and a target spanning six orders of magnitude has no outlier at all.
"""

from __future__ import annotations

import numpy as np

TRANSFORMS = ("auto", "none", "log")
LOG1P = "log1p"  # the transform recorded in run.json
EXTREME_SPREAD = 8.0  # robust standard deviations from the training median: an extreme value
LOG_TARGET_ORDERS = 3.0  # a target of no negative value spanning this many is fitted as log1p
MAD_TO_STD = 1.4826  # a normal distribution's standard deviation over its MAD


def robust_center_and_spread(values: np.ndarray) -> tuple[float, float]:
    """`(median, MAD × 1.4826)` of `values`; the spread is 0 when more than half are equal."""
    center = float(np.median(values))
    return center, MAD_TO_STD * float(np.median(np.abs(values - center)))


def extreme_mask(values: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Which of `values` lie more than `EXTREME_SPREAD` robust standard deviations from the
    training targets' median (on the `log1p` scale when no target is negative); none when
    the training targets have no spread (more than half of them equal).

    Args:
        values: targets of any split, float `[n]`.
        train: the training split's targets, float `[m]`.

    Returns:
        A bool mask `[n]`.
    """
    scale = np.log1p if min(values.min(initial=0.0), train.min()) >= 0 else (lambda v: v)
    center, spread = robust_center_and_spread(scale(train))
    if spread == 0:
        return np.zeros(len(values), bool)
    return np.abs(scale(values) - center) > EXTREME_SPREAD * spread


def orders_of_magnitude(values: np.ndarray) -> float:
    """`log10(largest / smallest)` of the positive values (0 with fewer than two)."""
    positive = values[values > 0]
    if len(positive) < 2:
        return 0.0
    return float(np.log10(positive.max() / positive.min()))


def chosen_transform(option: str, train: np.ndarray, extreme: np.ndarray) -> str | None:
    """The transform regress fits the target with: `"log1p"` (fit `log1p(y)`, predict
    `expm1`, inside the model) or `None` (the target as it is).

    `--target-transform log` always takes `log1p`, `none` never does; `auto` takes it for a
    target of no negative value whose training values, extreme ones aside, span
    `LOG_TARGET_ORDERS` (3) orders of magnitude or more.

    Args:
        option: `--target-transform`, one of `TRANSFORMS`.
        train: the training split's targets.
        extreme: the mask of `train`'s extreme values (`extreme_mask`).
    """
    if option == "log":
        return LOG1P
    if option == "none" or train.min() < 0:
        return None
    return LOG1P if orders_of_magnitude(train[~extreme]) >= LOG_TARGET_ORDERS else None
