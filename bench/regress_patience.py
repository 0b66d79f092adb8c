"""How long `tfapps regress` should wait before early stopping, by cross-validation.

Auto MPG's validation split holds about 30 cars, so its loss jumps from epoch to epoch and a
short patience stops training on a lucky epoch long before the model has converged. This script
folds the embedded split's training rows five ways, in three different partitions (the test
rows are never read). For each fold, seed and patience it trains tfapps' regressor as `tfapps
regress` does on the other folds (early stopping on a held-out tenth of them, at most 10 ×
patience epochs) and scores the fold. It prints, per patience, the mean and median MAE over
the 45 fits, the mean paired difference to the first patience (with a Wilcoxon p), the median
epochs run and the mean seconds of a fit.

Usage: python -m bench.regress_patience [PATIENCE ...]   (default: 25 50 100)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from bench.auto_mpg_splits import cars, embedded_split, hold_out, trained_mae

FOLDS = 5
PARTITIONS = (0, 1, 2)
SEEDS = (1, 2, 3)


def folds(train: pd.DataFrame) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(rows to train on, rows to score) of every fold of every partition."""
    return [
        (train.drop(train.index[fold]), train.iloc[fold])
        for partition in PARTITIONS
        for fold in np.array_split(np.random.default_rng(partition).permutation(len(train)), FOLDS)
    ]


def cross_validate(
    splits: list[tuple[pd.DataFrame, pd.DataFrame]], patience: int
) -> list[tuple[float, int, float]]:
    """(MAE, epochs run, seconds) of every fold and seed, in a fixed order."""
    results = []
    for rest, scored in splits:
        for seed in SEEDS:
            start = time.perf_counter()
            mae, epochs = trained_mae(*hold_out(rest, seed), scored, seed, patience, 10 * patience)
            results.append((mae, epochs, time.perf_counter() - start))
    return results


def main() -> None:
    patiences = [int(p) for p in sys.argv[1:]] or [25, 50, 100]
    train, _ = embedded_split(cars())
    splits = folds(train)
    baseline = None
    for patience in patiences:
        maes, epochs, seconds = map(np.array, zip(*cross_validate(splits, patience), strict=True))
        if baseline is None:
            baseline = maes
            change = "baseline"
        else:
            change = (
                f"paired difference {np.mean(maes - baseline):+.3f} "
                f"(Wilcoxon p = {wilcoxon(maes, baseline).pvalue:.3f})"
            )
        print(
            f"patience {patience}: MAE mean {maes.mean():.3f}, median {np.median(maes):.3f}, "
            f"{change}; epochs median {np.median(epochs):.0f}; {seconds.mean():.1f} s a fit"
        )


if __name__ == "__main__":
    main()
