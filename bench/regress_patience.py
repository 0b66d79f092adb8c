"""How long `tfapps regress` should wait before early stopping, by cross-validation.

Auto MPG's validation split holds about 30 cars, so its loss jumps from epoch to epoch and a
short patience stops training on a lucky epoch long before the model has converged. This script
folds the embedded split's training rows five ways (the test rows are never read) and, for each
fold, seed and patience, trains tfapps' regressor as `tfapps regress` does on the other folds
(early stopping on a held-out tenth of them, at most 10 × patience epochs) and scores the fold.
It prints, per patience, the mean and median MAE over folds and seeds, the mean paired
difference to the first patience, the median epochs run and the mean seconds of a fit.

Usage: python -m bench.regress_patience [PATIENCE ...]   (default: 25 50 100)
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.auto_mpg_splits import embedded_split, fit_regressor, hold_out, test_mae

FOLDS = 5
SEEDS = (1, 2, 3)


def cross_validate(patience: int) -> list[tuple[float, int, float]]:
    """(MAE, epochs run, seconds) of every fold and seed, in a fixed order."""
    train, _ = embedded_split()
    folds = np.array_split(np.random.default_rng(0).permutation(len(train)), FOLDS)
    results = []
    for fold in folds:
        rest = train.drop(train.index[fold])
        for seed in SEEDS:
            start = time.perf_counter()
            model, epochs = fit_regressor(*hold_out(rest, seed), seed, patience, 10 * patience)
            seconds = time.perf_counter() - start
            results.append((test_mae(model, train.iloc[fold]), epochs, seconds))
    return results


def main() -> None:
    patiences = [int(p) for p in sys.argv[1:]] or [25, 50, 100]
    first = None
    for patience in patiences:
        maes, epochs, seconds = map(np.array, zip(*cross_validate(patience), strict=True))
        first = maes if first is None else first
        print(
            f"patience {patience}: MAE mean {maes.mean():.3f}, median {np.median(maes):.3f}, "
            f"paired difference to patience {patiences[0]} {np.mean(maes - first):+.3f}; "
            f"epochs median {np.median(epochs):.0f}; {seconds.mean():.1f} s a fit"
        )


if __name__ == "__main__":
    main()
