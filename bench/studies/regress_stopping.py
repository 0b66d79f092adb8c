"""When `tfapps regress` should stop training, by cross-validation.

Auto MPG's validation split holds about 30 cars, so its loss jumps from epoch to epoch: a short
patience stops training on a lucky epoch long before the model has converged, and a lucky epoch
early in training can end it too. This script folds the embedded split's training rows five
ways, in three different partitions (the test rows are never read). For each fold, seed and
early-stopping recipe it trains tfapps' regressor as `tfapps regress` does on the other folds
(early stopping on a held-out tenth of them, at most 10 × patience epochs) and scores the fold.
It prints, per recipe, the mean and median MAE over the 45 fits, the mean paired difference to
the first recipe (with a Wilcoxon p and how many fits score better and worse), the median
epochs run and the mean seconds of a fit.

A recipe is `PATIENCE` or `PATIENCE:START`, where START is the number of epochs at the start
that early stopping ignores (`--start-from-epoch`; 0 when left out).

Usage: python -m bench.studies.regress_stopping [RECIPE ...]   (default: 25 50 100 100:100)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from bench.studies.auto_mpg_splits import cars, embedded_split, hold_out, trained_mae

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
    splits: list[tuple[pd.DataFrame, pd.DataFrame]], patience: int, start_from_epoch: int
) -> list[tuple[float, int, float]]:
    """(MAE, epochs run, seconds) of every fold and seed, in a fixed order."""
    results = []
    for rest, scored in splits:
        for seed in SEEDS:
            start = time.perf_counter()
            mae, epochs = trained_mae(
                *hold_out(rest, seed), scored, seed, patience, 10 * patience, start_from_epoch
            )
            results.append((mae, epochs, time.perf_counter() - start))
    return results


def main() -> None:
    recipes = sys.argv[1:] or ["25", "50", "100", "100:100"]
    train, _ = embedded_split(cars())
    splits = folds(train)
    baseline = None
    for recipe in recipes:
        patience, _, start = recipe.partition(":")
        patience, start = int(patience), int(start or 0)
        results = cross_validate(splits, patience, start)
        maes, epochs, seconds = map(np.array, zip(*results, strict=True))
        if baseline is None:
            baseline = maes
            change = "baseline"
        else:
            change = (
                f"paired difference {np.mean(maes - baseline):+.3f} "
                f"(Wilcoxon p = {wilcoxon(maes, baseline).pvalue:.4f}; "
                f"{np.sum(maes < baseline)} fits better, {np.sum(maes > baseline)} worse)"
            )
        print(
            f"patience {patience}, start from epoch {start}: MAE mean {maes.mean():.3f}, "
            f"median {np.median(maes):.3f}, {change}; epochs median {np.median(epochs):.0f}; "
            f"{seconds.mean():.1f} s a fit"
        )


if __name__ == "__main__":
    main()
