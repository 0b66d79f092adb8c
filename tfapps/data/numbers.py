"""Numbers as spreadsheets write them: missing markers, decimal commas, thousands separators.

A cell is missing when it is empty or one of `NA_MARKERS` (case and surrounding spaces
ignored; `--na-values` adds more). Otherwise it is a number when, after an optional currency
sign before it or a percent sign after it, it reads as one in the file's `NumberFormat`:
`1234.5`, `1,234.5` and `1 234.5` with a decimal point; `1234,5`, `1.234,5` and `1 234,5`
with a decimal comma. The format is detected from the file's cells (`detect_number_format`)
unless `--decimal` or `--thousands` say it. The same rules parse a file given to
`tfapps predict`, so a value means there what it meant in training.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads when a column is parsed, not when a run record is read
    import numpy as np
    import pandas as pd

NA_MARKERS = (
    "",
    "?",
    "-",
    "--",
    "---",
    ".",
    "na",
    "n/a",
    "n.a.",
    "nan",
    "null",
    "none",
    "nil",
    "missing",
    "#n/a",
    "#na",
)
SPACES = (" ", "\u00a0", "\u202f", "'")  # spaces, no-break spaces and apostrophes group digits
_CURRENCY = r"^(-?)\s*[$€£¥]\s*"
_PERCENT = r"\s*%$"


@dataclass(frozen=True)
class NumberFormat:
    """How a file writes numbers.

    Args:
        decimal: the decimal mark, `"."` or `","`. Defaults to `"."`.
        thousands: the characters that may group digits by thousands (a grouping is only
            accepted in threes, `1,234,567`). Defaults to the other mark and spaces.
    """

    decimal: str = "."
    thousands: str | None = None

    @property
    def grouping(self) -> str:
        """The characters that may group thousands."""
        if self.thousands is not None:
            return self.thousands
        return ("," if self.decimal == "." else ".") + "".join(SPACES)

    def describe(self, cells: Iterable) -> str:
        """The format in words as a file's cells show it: `decimal comma, thousands '.'`,
        naming only the thousands separators that numbers among `cells` use (`1.234`), so
        `decimal point` for a file that groups no digits.

        Args:
            cells: the file's cells (a sample is enough).
        """
        import pandas as pd

        mark = "point" if self.decimal == "." else "comma"
        bodies = _bodies(pd.Series([c.strip() for c in cells if isinstance(c, str)], dtype=str))
        used = [c for c in self.grouping if bodies.str.fullmatch(self._grouped(c)).any()]
        if not used:
            return f"decimal {mark}"
        return f"decimal {mark}, thousands {' or '.join(map(repr, used))}"

    def _grouped(self, marks: str) -> str:
        """A number grouped by thousands with any of `marks`: `1,234,567.5`."""
        decimals = rf"(?:{re.escape(self.decimal)}\d+)?"
        return rf"[+-]?\d{{1,3}}(?:[{re.escape(marks)}]\d{{3}})+{decimals}"

    def to_dict(self) -> dict[str, str]:
        return {"decimal": self.decimal, "thousands": self.grouping}

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> NumberFormat:
        """The format `to_dict` wrote (a point and the default grouping when empty)."""
        return cls(values.get("decimal", "."), values.get("thousands"))

    def parse(self, values: pd.Series, markers: Iterable[str] = NA_MARKERS):
        """Reads a column as numbers.

        Each distinct cell is read once (`pandas.factorize`), and cells that
        `pandas.to_numeric` reads as they are (plain numbers such as `-1.5e3`, which no rule
        here changes) skip the rules for markers, signs and separators; a column of a million
        plain numbers takes well under a second.

        Args:
            values: the cells, as strings (or already numbers).
            markers: cells (case-folded, stripped) that mean missing. Defaults to
                `NA_MARKERS`.

        Returns:
            `(numbers, missing, bad)`: float64 numbers (NaN where missing or not a number),
            the mask of missing cells, and the mask of cells that are neither.
        """
        import numpy as np
        import pandas as pd

        if pd.api.types.is_numeric_dtype(values):
            numbers = values.astype(np.float64)
            return numbers, numbers.isna(), pd.Series(False, index=values.index)
        codes, distinct = pd.factorize(values)  # code -1: None or NaN, a missing cell
        numbers, missing = self._parse_distinct(pd.Series(distinct).astype(str), set(markers))
        numbers = pd.Series(np.append(numbers, np.nan)[codes], index=values.index)
        missing = pd.Series(np.append(missing, True)[codes], index=values.index)
        return numbers, missing, numbers.isna() & ~missing

    def _parse_distinct(self, text: pd.Series, markers: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """`(numbers, missing)` of distinct cells as NumPy arrays (see `parse`)."""
        import numpy as np
        import pandas as pd

        numbers = pd.to_numeric(text, errors="coerce").to_numpy(np.float64, copy=True)
        plain = ~np.isnan(numbers)
        if self.decimal != ".":  # `1.234` is 1234 here, not what to_numeric reads
            plain &= ~text.str.contains(".", regex=False).to_numpy(bool)
        if any(not np.isnan(pd.to_numeric(m, errors="coerce")) for m in markers):
            plain &= ~text.str.strip().str.casefold().isin(markers).to_numpy(bool)
        missing = np.zeros(len(text), bool)
        rest = text[~plain]
        if len(rest):
            numbers[~plain], missing[~plain] = self._parse_text(rest, markers)
        return numbers, missing

    def _parse_text(self, text: pd.Series, markers: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """`(numbers, missing)` of cells by the module's rules: missing markers, a currency
        sign or percent sign, thousands groupings, the decimal mark."""
        import numpy as np
        import pandas as pd

        text = text.str.strip()
        missing = text.str.casefold().isin(markers)
        body = _bodies(text)
        if self.grouping:
            grouped = body.str.fullmatch(self._grouped(self.grouping))
            group = f"[{re.escape(self.grouping)}]"
            body = body.where(~grouped, body.str.replace(group, "", regex=True))
        if self.decimal != ".":
            body = body.where(body.str.contains(".", regex=False), body.str.replace(",", "."))
        numbers = pd.to_numeric(body.where(~missing), errors="coerce")
        return numbers.to_numpy(np.float64), missing.to_numpy(bool)


def _bodies(text: pd.Series) -> pd.Series:
    """Stripped cells without a currency sign before or a percent sign after."""
    return text.str.replace(_CURRENCY, r"\1", regex=True).str.replace(_PERCENT, "", regex=True)


# Cells that can only be read one way (a decimal mark followed by other than 3 digits, or
# two grouping marks), and cells that could be either (`1,234`, `1.234`).
_POINT_DECIMAL = (r"-?\d{1,3}(,\d{3})+\.\d+", r"-?\d{1,3}(,\d{3}){2,}", r"-?\d*\.(\d{1,2}|\d{4,})")
_COMMA_DECIMAL = (r"-?\d{1,3}(\.\d{3})+,\d+", r"-?\d{1,3}(\.\d{3}){2,}", r"-?\d*,(\d{1,2}|\d{4,})")
_AMBIGUOUS_COMMA = r"-?\d{1,3},\d{3}"


def detect_number_format(cells: Iterable[str], sep: str) -> NumberFormat:
    """Guesses a file's decimal mark from its cells.

    A decimal comma is chosen when more cells can only be read with one (`1.234,5`, `3,25`)
    than with a decimal point (`1,234.5`, `3.25`), or, with no such cell, when cells such as
    `1,234` appear in a file whose delimiter is not a comma (a European export). Otherwise the
    decimal mark is a point.

    Args:
        cells: the file's cells (a sample is enough).
        sep: the file's delimiter.
    """
    import pandas as pd

    text = pd.Series([c.strip() for c in cells if isinstance(c, str)], dtype=str)
    if text.empty:
        return NumberFormat()
    point = sum(int(text.str.fullmatch(p).sum()) for p in _POINT_DECIMAL)
    comma = sum(int(text.str.fullmatch(p).sum()) for p in _COMMA_DECIMAL)
    if comma > point:
        return NumberFormat(",")
    if point == 0 and sep != "," and text.str.fullmatch(_AMBIGUOUS_COMMA).any():
        return NumberFormat(",")
    return NumberFormat(".")
