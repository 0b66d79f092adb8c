"""Row indices of train, validation and test for local data, seeded by the run's `--seed`.

Plain NumPy (no TensorFlow): the splits depend only on the labels and the seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from tfapps.data.duplicates import TEST, VALIDATION, Duplicates
from tfapps.data.info import SPLIT_NAMES

LOCAL_TEST_FRACTION = 0.2
UNEVEN_SHARE = 0.15  # a split this far from its asked share of the rows is said (0.72 -> 0.57)


def carve_local_splits(
    count: int, seed: int, validation_split: float, given_test: int = 0
) -> dict[str, np.ndarray]:
    """Row indices of train, validation and test for a local folder or file, shuffled by `seed`.

    Args:
        count: number of rows.
        seed: the run's `--seed`; the same seed gives the same split.
        validation_split: fraction of the non-test rows held out for validation.
        given_test: the last `given_test` rows form the test split when the data came with one
            (a `test/` folder); otherwise the test split is 20% of the shuffled rows.
            Defaults to 0.

    Every split gets at least one row.
    """
    order = np.random.default_rng(seed).permutation(count - given_test)
    if given_test:
        test = np.arange(count - given_test, count)
    else:
        n_test = max(1, round(len(order) * LOCAL_TEST_FRACTION))
        test, order = order[:n_test], order[n_test:]
    n_val = max(1, round(len(order) * validation_split))
    return {"train": order[n_val:], "validation": order[:n_val], "test": test}


def stratified_rows(
    labels: np.ndarray,
    seed: int,
    validation_split: float,
    given_test: np.ndarray | None = None,
    test_fraction: float = LOCAL_TEST_FRACTION,
    given_validation: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Row indices of train, validation and test, drawn class by class (stratified).

    Each class's rows are shuffled by `seed`; `test_fraction` of them (rounded, at least one
    for a class of 3 or more, or of 2 when validation is given) go to test, unless the data
    came with its own test rows; then `validation_split` of the rest (at least one for a
    class of 2 or more) to validation, unless the data came with its own validation rows.

    Args:
        labels: integer class of each row, shape `[n]`.
        seed: the run's `--seed`; the same seed gives the same split.
        validation_split: fraction of each class's non-test rows held out for validation.
        given_test: boolean mask of rows that form the test split as given (a `test/`
            folder). Defaults to none: test is carved from the rows.
        test_fraction: fraction of each class carved for test. Defaults to 0.2.
        given_validation: boolean mask of rows that form the validation split as given (a
            `validation/` folder). Defaults to none: validation is carved from the rows.

    Returns:
        `({"train", "validation", "test"}: sorted row indices, classes too small to reach
        validation or test)`.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    test = _mask(given_test, len(labels))
    validation = _mask(given_validation, len(labels)) & ~test
    given = test | validation
    parts: dict[str, list] = {name: [np.zeros(0, np.int64)] for name in SPLIT_NAMES}
    parts["test"].append(np.flatnonzero(test))
    parts["validation"].append(np.flatnonzero(validation))
    validation_share = 0.0 if validation.any() else validation_split
    test_share = 0.0 if test.any() else test_fraction
    too_small = []
    for label in np.unique(labels[~given]):
        rows = rng.permutation(np.flatnonzero((labels == label) & ~given))
        n_test = _at_least_one(len(rows) * test_share, len(rows) >= (2 if validation.any() else 3))
        rest = rows[n_test:]
        n_val = _at_least_one(len(rest) * validation_share, len(rest) >= 2)
        parts["test"].append(rows[:n_test])
        parts["validation"].append(rest[:n_val])
        parts["train"].append(rest[n_val:])
        if (n_val == 0 and validation_share > 0) or (n_test == 0 and test_share > 0):
            too_small.append(int(label))
    rows = {
        name: np.sort(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()
    }
    return rows, too_small


def stratified_groups(
    labels: np.ndarray,
    duplicates: Duplicates,
    seed: int,
    validation_split: float,
    test_fraction: float = LOCAL_TEST_FRACTION,
) -> tuple[dict[str, np.ndarray], list[int]]:
    """`stratified_rows` over groups of identical examples: each group is drawn as one
    example with its label, its copies go where it goes, and the splits the data came with
    (`duplicates.given`) are kept as given; examples left out (`duplicates.kept`) are in no
    split.

    Args:
        labels: integer class of each row, shape `[n]`.
        duplicates: the rows' groups (`duplicates.find_duplicates`).
        seed: the run's `--seed`; the same seed gives the same split.
        validation_split: fraction of each class's non-test groups held out for validation.
        test_fraction: fraction of each class's groups carved for test. Defaults to 0.2.

    Returns:
        As `stratified_rows`; when no example is written twice, the same rows.
    """
    chosen = duplicates.representatives
    given = duplicates.given[chosen]
    rows, too_small = stratified_rows(
        labels[chosen],
        seed,
        validation_split,
        given == TEST,
        test_fraction,
        given_validation=given == VALIDATION,
    )
    return duplicates.expand(rows), too_small


def uneven_splits(
    sizes: Mapping[str, int],
    validation_split: float,
    unit: str,
    test_fraction: float = LOCAL_TEST_FRACTION,
) -> str | None:
    """What class-by-class carving made of the splits when it is far from what was asked
    (a split's share of the rows `UNEVEN_SHARE` or more away): each class of 3 rows puts
    one in each split, so 400 such classes give 400/400/400 rows, not about 72/8/20%.

    Args:
        sizes: rows per split as carved (train, validation, test), every split carved.
        validation_split: the fraction of the non-test rows asked for validation.
        unit: what a row is, such as `"text"`.
        test_fraction: the fraction asked for test. Defaults to 0.2.

    Returns:
        `"the splits came out as 400/400/400 rows (train/validation/test) instead of about
        72/8/20%"` (for `unit` "row"), or `None` when the shares are near those asked.
    """
    total = sum(sizes.values())
    asked = {
        "train": (1 - test_fraction) * (1 - validation_split),
        "validation": (1 - test_fraction) * validation_split,
        "test": test_fraction,
    }
    if not total or all(abs(sizes[n] / total - share) < UNEVEN_SHARE for n, share in asked.items()):
        return None
    came = "/".join(f"{sizes[name]:,}" for name in SPLIT_NAMES)
    wanted = "/".join(f"{100 * asked[name]:.0f}" for name in SPLIT_NAMES)
    return (
        f"the splits came out as {came} rows ({'/'.join(SPLIT_NAMES)}) instead of about {wanted}%"
    )


def in_random_order(rows: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """Each split's rows in a seeded random order, for a local file or folder: a cap such as
    `--max-examples`, which keeps a split's first rows, then keeps a random sample of every
    class whatever the file's order, and a cache keeps the order it is first read in.

    Args:
        rows: split name to row indices.
        seed: the run's `--seed`.
    """
    rng = np.random.default_rng(seed)
    return {name: rng.permutation(indices) for name, indices in rows.items()}


def _mask(given: np.ndarray | None, count: int) -> np.ndarray:
    return np.zeros(count, bool) if given is None else np.asarray(given, bool)


def _at_least_one(share: float, allowed: bool) -> int:
    return max(1, round(share)) if allowed and share > 0 else 0


def capped_sizes(sizes: Mapping[str, int], max_examples: int | None) -> dict[str, int]:
    """The examples each split keeps under `--max-examples`: `max_examples` training
    examples, validation and test in proportion (at least one each); all when `None` or
    when the training split is no larger.

    Args:
        sizes: examples per split.
        max_examples: the cap on training examples.
    """
    if max_examples is None or sizes["train"] <= max_examples:
        return dict(sizes)
    fraction = max_examples / sizes["train"]
    return {
        name: max_examples if name == "train" else min(size, max(1, math.ceil(size * fraction)))
        for name, size in sizes.items()
    }


def sample_rows(
    rows: Mapping[str, np.ndarray], max_examples: int | None, seed: int
) -> dict[str, np.ndarray]:
    """A random sample (seeded by `seed`) of each split's rows, of the sizes `capped_sizes`
    gives, in the order the rows came in: `--max-examples` before any column is parsed.

    Args:
        rows: each split's row indices.
        max_examples: the cap on training rows (`None`: every row).
        seed: the run's `--seed`.
    """
    sizes = capped_sizes({name: len(indices) for name, indices in rows.items()}, max_examples)
    rng = np.random.default_rng(seed)
    return {
        name: indices
        if sizes[name] == len(indices)
        else indices[np.sort(rng.choice(len(indices), sizes[name], replace=False))]
        for name, indices in rows.items()
    }
