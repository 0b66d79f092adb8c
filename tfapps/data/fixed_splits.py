"""Seeded, machine-independent splitting of the embedded datasets' rows."""

from __future__ import annotations

import numpy as np

TRAIN_VALIDATION_TEST = {"train": 0.8, "validation": 0.1, "test": 0.1}
SPLIT_SEED = 0


def fixed_split(
    count: int, fractions: dict[str, float] = TRAIN_VALIDATION_TEST, seed: int = SPLIT_SEED
) -> dict[str, np.ndarray]:
    """Shuffles `range(count)` with a fixed seed and cuts it into named parts.

    Args:
        count: number of rows.
        fractions: split name to fraction of the rows, in order; the last split takes the
            rest. Defaults to 80% train, 10% validation, 10% test.
        seed: NumPy seed of the shuffle. Defaults to 0.

    Example:

    >>> {name: len(rows) for name, rows in fixed_split(10).items()}
    {'train': 8, 'validation': 1, 'test': 1}
    """
    order = np.random.default_rng(seed).permutation(count)
    bounds = np.cumsum([round(count * f) for f in fractions.values()])[:-1]
    return dict(zip(fractions, np.split(order, bounds), strict=True))
