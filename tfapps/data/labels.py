"""Class labels as people write them: one class for labels equal by value or differing only in
case, surrounding spaces and a final full stop.

`5`, `5.0` and ` 5 ` are one class (named `5`); `Negative`, `negative` and ` negative ` are
one class, named by its most common spelling; so are ` >50K` and ` >50K.` (UCI Adult's test
file ends every label with a full stop, its training file does not). Class names sort
numerically when they are numbers (`2` before `10`), alphabetically otherwise.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

# A numeric target with at most this many distinct values may be classes (a 0/1 flag, star
# ratings, a grade): table-classify takes it, and regress warns that it might be.
NUMERIC_CLASSES_AT_MOST = 20


def canonical_labels(raw: pd.Series) -> tuple[pd.Series, dict[str, list[str]]]:
    """Maps each raw label to its class name.

    Args:
        raw: the labels as read (strings or numbers).

    Returns:
        `(class name of each row, {class name: its spellings}, for classes spelled more than
        one way)`.
    """
    text = raw.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    finite = numbers.notna() & np.isfinite(numbers)
    words = text.str.casefold()
    stopped = words.str.endswith(".") & (words.str.rstrip(".") != "")
    keys = words.where(~stopped, words.str.rstrip(".")).where(~finite, numbers.map(_number_name))
    spellings: dict[str, Counter] = {}
    for key, spelling in zip(keys, text, strict=True):
        spellings.setdefault(key, Counter())[spelling] += 1
    numeric = set(keys[finite])
    names = {
        key: key if key in numeric else max(sorted(counts), key=counts.get)  # ties: A before a
        for key, counts in spellings.items()
    }
    merged = {names[key]: sorted(counts) for key, counts in spellings.items() if len(counts) > 1}
    return keys.map(names), merged


def sorted_class_names(names) -> list[str]:
    """Class names in label order: numbers by value, then other names alphabetically."""
    return sorted(set(names), key=_natural_key)


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _natural_key(label: str):
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)
