"""Option groups that several tasks share, on top of `RunConfig`: classifier options, CSV
options and table options. A task's config class lists the groups it takes."""

from __future__ import annotations

from dataclasses import dataclass

from tfapps.config import checks
from tfapps.config.fields import option

CLASS_WEIGHTS = ("none", "balanced")
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
DECIMAL_MARKS = (".", ",")


@dataclass
class ClassifierOptions:
    """Options of the commands that train a classifier."""

    class_weight: str = option(
        "none",
        "balanced weighs each training example by the inverse of its class's frequency "
        "(Keras `class_weight`, as scikit-learn's balanced), so that a rare class counts as "
        "much as a common one; none weighs every example alike.",
        choices=CLASS_WEIGHTS,
    )


@dataclass
class CsvOptions:
    """Options for a dataset given as a CSV file."""

    sep: str | None = option(
        None,
        "the CSV delimiter: `,`, `;`, tab, `|` or another single character.",
        automatic="detected among those four, and printed",
    )
    na_values: tuple[str, ...] = option(
        (),
        "cells that mean missing besides empty cells, ?, NA, N/A, -, null, none and missing "
        "(case is ignored; `numbers.NA_MARKERS` lists them all); repeat the option or "
        "separate values with commas.",
    )

    def validate(self) -> None:
        super().validate()
        if self.sep is not None:
            self.sep = SEPARATORS.get(self.sep.lower(), self.sep)
            if len(self.sep) != 1:
                raise checks.invalid("sep", "one character, or comma|semicolon|tab|pipe", self.sep)
        self.na_values = tuple(self.na_values)


@dataclass
class TableOptions(CsvOptions):
    """Options of the commands that train on a table: its target, columns and number format."""

    target: str | None = option(
        None,
        "the column to predict. Required for a CSV.",
        automatic="the dataset's own target",
    )
    categorical: tuple[str, ...] = option(
        (),
        "columns to one-hot encode although they hold numbers (repeat the option, or separate "
        "names with commas); columns of strings are categorical anyway.",
    )
    drop: tuple[str, ...] = option(
        (), "columns to ignore, such as IDs (repeat the option, or separate names with commas)."
    )
    decimal: str | None = option(
        None,
        "the CSV's decimal mark, `.` or `,`.",
        automatic="a comma when the file's numbers can only be read with one (1.234,5, 3,25), "
        "a point otherwise (`numbers.detect_number_format`)",
        choices=DECIMAL_MARKS,
    )
    thousands: str | None = option(
        None,
        "the characters that group digits by thousands in the CSV's numbers (1,234; only "
        "groups of three are read), none for none.",
        automatic="the other mark than the decimal one, spaces and apostrophes",
    )

    def validate(self) -> None:
        super().validate()
        self.categorical, self.drop = tuple(self.categorical), tuple(self.drop)
        if self.thousands is not None:
            self.thousands = "" if self.thousands.lower() == "none" else self.thousands
            if self.decimal is not None and self.decimal in self.thousands:
                raise checks.invalid(
                    "thousands", "characters other than the decimal mark", self.thousands
                )
