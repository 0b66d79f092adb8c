"""When `tfapps regress` should stop training, by cross-validation: the study behind its
defaults (patience 100, the first 100 epochs ignored; bench/NOTES.md, "Auto MPG").

Auto MPG's validation split holds about 30 cars, so its loss jumps from epoch to epoch: a short
patience stops training on a lucky epoch long before the model has converged, and a lucky epoch
early in training can end it too. This script folds the embedded split's training rows five
ways, in three different partitions (the test rows are never read). For each fold, seed and
early-stopping recipe it trains tfapps' regressor as `tfapps regress` does on the other folds
(a tenth of them held out for early stopping, at most 10 × patience epochs) and scores the
fold. It prints, per recipe, the mean and median MAE, the paired difference to the first
recipe (with a Wilcoxon p and how many fits score better and worse), the median epochs run and
the mean seconds of a fit.

A recipe is `PATIENCE` or `PATIENCE:START`, where START is the number of epochs at the start
that early stopping ignores (`--start-from-epoch`; 0 when left out).

Usage: python -m bench.studies.regress_stopping [RECIPE ...]   (default: 25 50 100 100:100)
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy.stats import wilcoxon

from bench import tfapps_internals

FOLDS = 5
PARTITIONS = (0, 1, 2)
SEEDS = (1, 2, 3)


def cross_validate(train, patience: int, start_from_epoch: int) -> np.ndarray:
    """`[MAE, epochs run, seconds]` of every fold of every partition and seed, in a fixed order."""
    held_out = tfapps_internals.make_config("regress").validation_split
    results = []
    for partition in PARTITIONS:
        order = np.random.default_rng(partition).permutation(len(train))
        for fold in np.array_split(order, FOLDS):
            rest, scored = train.drop(train.index[fold]), train.iloc[fold]
            for seed in SEEDS:
                shuffled = rest.sample(frac=1.0, random_state=seed)
                cut = round(len(shuffled) * (1 - held_out))
                start = time.perf_counter()
                mae, epochs = tfapps_internals.fit_regressor(
                    shuffled.iloc[:cut],
                    shuffled.iloc[cut:],
                    scored,
                    seed,
                    patience=patience,
                    epochs=10 * patience,
                    start_from_epoch=start_from_epoch,
                )
                results.append((mae, epochs, time.perf_counter() - start))
    return np.array(results)


def main() -> None:
    train = tfapps_internals.auto_mpg_training_rows()
    baseline = None
    for recipe in sys.argv[1:] or ["25", "50", "100", "100:100"]:
        patience, _, start = recipe.partition(":")
        maes, epochs, seconds = cross_validate(train, int(patience), int(start or 0)).T
        change = "baseline"
        if baseline is None:
            baseline = maes
        else:
            change = (
                f"paired difference {np.mean(maes - baseline):+.3f} "
                f"(Wilcoxon p = {wilcoxon(maes, baseline).pvalue:.4f}; "
                f"{np.sum(maes < baseline)} fits better, {np.sum(maes > baseline)} worse)"
            )
        print(
            f"patience {patience}, start from epoch {start or 0}: MAE mean {maes.mean():.3f}, "
            f"median {np.median(maes):.3f}, {change}; epochs median {np.median(epochs):.0f}; "
            f"{seconds.mean():.1f} s a fit"
        )


if __name__ == "__main__":
    main()
