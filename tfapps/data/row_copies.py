"""Identical rows of a table (`row_duplicates`): rows written twice are copies, while rows
alike because the table's columns take few values (sex, class, an age in years) are
different people with the same answers, kept as separate rows (`chance_matches`). The rules
for copies themselves are `tfapps.data.duplicates`'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tfapps.data.duplicates import Duplicates, find_duplicates, frame_keys

if TYPE_CHECKING:
    import pandas as pd

# Identical rows are kept apart when the other rows of the table, its columns taken as
# independent, are expected to hold at least this many rows equal to them by chance
# (`chance_matches`): 0.1 is about a one-in-ten chance (1 - e^-0.1) that some other row
# matches. A value that no row outside the group holds (a measurement written twice) expects
# none, so those rows stay copies. A higher bar judges chance pairs copies where a table
# holds about as many rows as combinations of values: in 300 rows of sex, class and an age of
# 1-60 drawn at random, 76 rows share their features with a row of another class, and 1 (a
# match expected) would leave 64 of them out, 0.1 one. Where a match is that likely, rows
# of such values meet equal rows across splits by chance anyway: a copy kept apart leaks little.
CHANCE_MATCHES = 0.1


def row_duplicates(
    frame: pd.DataFrame,
    target: str,
    features: list[str],
    classes: bool,
    markers: tuple[str, ...],
    name: Callable[[int], str],
    given: np.ndarray | None = None,
) -> Duplicates:
    """Identical rows of a table, as written (`frame_keys`), and the rows equal by chance.

    With a class target (`classes`), rows are grouped by their feature cells and labelled
    by their class (`labels.canonical_labels`), so that rows with the same features under
    another class are left out; rows without a target (a missing marker) stay apart, as
    their reader drops them. With a number target, rows are grouped by their feature cells
    and target together: a copy is a row written twice, while the same features with
    another number is the noise regression learns through. Either way, identical rows that
    the table's values make likely by chance (`chance_matches`; rows without a class do
    not count) are not copies: each stays a group of its own, neither grouped nor left out.

    Args:
        frame: the table, every cell a string (or a TFDS value).
        target: the target column.
        features: the feature columns the model may read.
        classes: whether the target holds classes.
        markers: case-folded missing markers.
        name: a row's name in messages (`row 12`).
        given: where each row comes from (`POOL`, `VALIDATION`, `TEST`). Defaults to all
            carved by tfapps.

    Raises:
        InvalidInput: a class whose every row has the features of a row of another class.
    """
    from tfapps.data.labels import canonical_labels

    if not classes:
        compared = [*features, target]
        found = find_duplicates(frame_keys(frame[compared]), given=given)
        return _apart_by_chance(found, frame[compared], None, "feature and the target")
    keys = frame_keys(frame[features]).copy()
    written = frame[target].astype(str).str.strip()
    missing = (written == "") | written.str.casefold().isin(markers) | frame[target].isna()
    keys[missing.to_numpy()] = np.arange(int(missing.sum()), dtype=keys.dtype)  # all apart
    names = canonical_labels(written)[0].astype("category")
    labels = names.cat.codes.to_numpy()
    found = find_duplicates(keys, labels, given)
    found = _apart_by_chance(found, frame[features], labels, "feature", ~missing.to_numpy())
    found.refuse_emptied_classes(
        labels,
        list(names.cat.categories),
        "row",
        name,
        "rows of the same features are one row to tfapps: correct their labels, or keep a "
        "column that tells them apart",
    )
    return found


def _apart_by_chance(
    found: Duplicates,
    cells: pd.DataFrame,
    labels: np.ndarray | None,
    compared: str,
    counted: np.ndarray | None = None,
) -> Duplicates:
    """`found` with its groups of rows equal by chance (`chance_matches` at
    `CHANCE_MATCHES` or more) split into groups of one row each."""
    chance = chance_matches(cells, found.group, counted) >= CHANCE_MATCHES
    if chance.any():
        group = found.group.copy()
        group[chance] = group.max() + 1 + np.arange(int(chance.sum()))
        found = find_duplicates(group, labels, found.given)
    found.by_chance, found.compared = chance, compared
    return found


def chance_matches(
    cells: pd.DataFrame, group: np.ndarray, counted: np.ndarray | None = None
) -> np.ndarray:
    """How many rows would equal each group of identical rows by chance.

    For a group of `m` identical rows among the `n` rows counted, the number of the other
    `n - m` rows expected to equal them by chance, were the columns independent, is
    `(n - m) * prod_c p_c`, where `p_c` is the share of those other rows that hold the
    group's value in column `c` (a missing cell is a value). A value no other row holds (a
    measurement written twice) gives 0.

    Args:
        cells: the cells compared (the table's key columns), one row per example.
        group: `[n]` the group of identical rows of each row (`find_duplicates`).
        counted: `[n]` bool, the rows that count (those with a target). Defaults to all.

    Returns:
        `[n]` float64, each row's expected chance matches; 0 for a row that no other
        counted row equals.
    """
    counted = np.ones(len(group), bool) if counted is None else counted
    sizes = np.bincount(group[counted], minlength=int(group.max(initial=-1)) + 1)
    rows = np.flatnonzero(counted & (sizes[group] > 1))
    matches = np.zeros(len(group))
    if not len(rows):
        return matches
    size = sizes[group[rows]]
    others = np.count_nonzero(counted) - size
    expected = others.astype(np.float64)
    for column in cells.columns:
        codes = _value_codes(cells[column])
        holding = np.bincount(codes[counted])[codes[rows]] - size  # outside the group
        expected *= np.divide(holding, others, out=np.zeros(len(rows)), where=others > 0)
        if not expected.any():  # a value only its copies hold, in every group
            break
    matches[rows] = expected
    return matches


def _value_codes(column: pd.Series) -> np.ndarray:
    """Codes of a column's values, equal for equal cells, missing cells one value (cells
    pandas cannot hash, such as arrays, by their text)."""
    import pandas as pd

    try:
        return pd.factorize(column, use_na_sentinel=False)[0]
    except TypeError:
        return pd.factorize(column.astype(str), use_na_sentinel=False)[0]
