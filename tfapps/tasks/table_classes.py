"""table-classify's target rule (`data.table_targets.TargetRule`): a column of classes.

Labels are read with sentiment's rules (`data.labels`): `5` and `5.0`, `Yes` and ` yes` are
one class, each merge named in the summary; numbers are read in the file's number format.
A numeric target is taken as classes when it holds at most
`labels.NUMERIC_CLASSES_AT_MOST` (20) distinct values, and refused as continuous (pointing to
`tfapps regress`) when it holds more; a column of strings where nearly every row is its own
class (an ID or free text) and a single class are refused too. A local table's rows are
carved class by class (`stratify.stratified_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tfapps.errors import InvalidInput

if TYPE_CHECKING:  # imported when a table is read: the task's module stays light
    import numpy as np
    import pandas as pd

    from tfapps.data.numbers import NumberFormat
    from tfapps.data.table_targets import Target

SHOWN_VALUES = 3  # distinct values a refusal quotes


@dataclass(frozen=True)
class ClassTarget:
    """table-classify's target rule: classes named by `data.labels`; a local table's rows
    carved class by class.

    Args:
        task: the command, named in messages.
        classes: the target holds classes, so rows of the same features under two classes
            are contradictions, left out (`row_copies.row_duplicates`). Defaults to True.
    """

    task: str = "table-classify"
    classes: bool = True

    def carve(self, table, target, config, number_format, markers) -> dict[str, np.ndarray]:
        """Stratified row indices (`stratify.stratified_rows`); rows without a target form a
        group of their own, dropped when the target is read."""
        import pandas as pd

        from tfapps.data.stratify import stratified_rows

        names = class_labels(table[target], number_format, markers)
        codes = pd.factorize(names.fillna(""), sort=True)[0]
        rows, _ = stratified_rows(codes, config.seed, config.validation_split)
        return rows

    def read(self, frames, target, dataset, number_format: NumberFormat, markers) -> Target:
        """Reads the classes, drops rows without one, and refuses a target that is not classes.

        Raises:
            InvalidInput: a continuous numeric target, an ID-like column, no value, or a
                single class.
        """
        import pandas as pd

        from tfapps.data.info import SPLIT_NAMES
        from tfapps.data.labels import canonical_labels, sorted_class_names
        from tfapps.data.summary import class_counts, classes_line, count_phrase
        from tfapps.data.table_targets import Target

        cells = pd.concat([frames[split][target] for split in SPLIT_NAMES], keys=SPLIT_NAMES)
        numbers, missing, bad = number_format.parse(cells, markers)
        present = ~missing
        if not present.any():
            raise InvalidInput(f"Target column {target!r} of {dataset!r} has no values.")
        numeric = not bad.any()
        _check_classes(numbers[present] if numeric else cells[present], numeric, target, dataset)
        names, merged = canonical_labels(_as_written(cells, numbers)[present])
        class_names = sorted_class_names(names)
        if len(class_names) < 2:
            raise InvalidInput(
                f"Target column {target!r} of {dataset!r} holds a single class "
                f"({class_names[0]!r}); table-classify needs at least 2 classes."
            )
        codes = names.map({name: index for index, name in enumerate(class_names)})
        values = {split: codes.loc[split] for split in SPLIT_NAMES}
        counts = class_counts(class_names, codes.to_numpy())
        too_small = [
            name
            for index, name in enumerate(class_names)
            if not all((values[split] == index).any() for split in SPLIT_NAMES)
        ]
        dropped = int(missing.sum())
        rows = count_phrase(dropped, "row")
        line = f"target {target}: {classes_line(counts, 'row')}"
        if numeric:
            line += ", numbers read as classes"
        if len(class_names) == 2:
            line += f"; positive class {class_names[1]!r} (precision, recall, f1, roc_auc)"
        if dropped:
            line += f"; {rows} without a value dropped"
        warnings = [f"dropped {rows} without a {target} value"] if dropped else []
        warnings += [
            f"labels {spellings} are one class, {name!r}" for name, spellings in merged.items()
        ]
        return Target(
            values=values,
            dropped=dropped,
            line=line,
            warnings=warnings,
            class_names=class_names,
            train_counts=class_counts(class_names, values["train"].to_numpy()),
            counts=counts,
            too_small=too_small,
        )


def class_labels(cells: pd.Series, number_format: NumberFormat, markers) -> pd.Series:
    """Each cell's class name (`labels.canonical_labels`, numbers read in the file's
    format), `None` where the cell is missing."""
    from tfapps.data.labels import canonical_labels

    numbers, missing, _ = number_format.parse(cells, markers)
    names, _ = canonical_labels(_as_written(cells, numbers)[~missing])
    return names.reindex(cells.index).astype(object).where(~missing, None)


def _as_written(cells: pd.Series, numbers: pd.Series) -> pd.Series:
    """The labels as `canonical_labels` reads them: each cell as written, but a number that
    only the file's number format reads (`5,5` with a decimal comma, `1,000`) as the
    number, so that it is one class with the same number written plainly."""
    import pandas as pd

    plain = pd.to_numeric(cells.astype(str).str.strip(), errors="coerce")
    return cells.astype(object).where(plain.notna() | numbers.isna(), numbers)


def _check_classes(values: pd.Series, numeric: bool, target: str, dataset: str) -> None:
    """Refuses a continuous numeric target and a column of nearly unique strings."""
    from tfapps.data.labels import NUMERIC_CLASSES_AT_MOST
    from tfapps.data.table_columns import TEXT_MIN_VALUES, TEXT_UNIQUE_SHARE

    distinct = values.drop_duplicates()
    if numeric and len(distinct) > NUMERIC_CLASSES_AT_MOST:
        shown = ", ".join(f"{value:g}" for value in distinct.iloc[:SHOWN_VALUES])
        raise InvalidInput(
            f"Target column {target!r} of {dataset!r} holds {len(distinct):,} distinct numbers "
            f"({shown}, ...): a continuous target. table-classify predicts classes (a numeric "
            f"target of at most {NUMERIC_CLASSES_AT_MOST} distinct values); use "
            "`tfapps regress` to predict a number."
        )
    if not numeric and len(distinct) > max(TEXT_MIN_VALUES, TEXT_UNIQUE_SHARE * len(values)):
        raise InvalidInput(
            f"Target column {target!r} of {dataset!r} holds {len(distinct):,} distinct values "
            f"in {len(values):,} rows (such as {distinct.iloc[0]!r}): nearly every row is a "
            "class of its own, as in an ID or free text. Name a column of classes with --target."
        )
