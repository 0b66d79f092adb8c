"""Reading what a user gives a finished run (`tfapps predict`): paths or texts, CSV tables.

The helpers every task's input reader shares (`Task.read_inputs`): whether an input names a
file, how an input is shown in messages and tables, and a CSV read as written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TEXT_PREVIEW_CHARS = 80


def read_table(path: Path) -> pd.DataFrame:
    """A CSV's cells as strings, its delimiter detected."""
    from tfapps.data.csv_files import read_csv_file

    return read_csv_file(path).frame


def preview(text: str, limit: int) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    """A text on one line, cut to `TEXT_PREVIEW_CHARS`."""
    return preview(text, TEXT_PREVIEW_CHARS)


TEXT_FILE_SUFFIXES = (".txt", ".csv", ".tsv")


def looks_like_path(item: str) -> bool:
    """Whether an input that names nothing on disk was meant as a path: one word that ends in
    a path separator or a text file's suffix (`TEXT_FILE_SUFFIXES`), such as a mistyped
    `reviews.txt` or `new_texts/`, rather than a text to classify."""
    word = item.strip()
    if not word or any(character.isspace() for character in word):
        return False
    return word.endswith(("/", os.sep)) or word.lower().endswith(TEXT_FILE_SUFFIXES)


def as_path(item: str) -> Path | None:
    """The input as an existing path, or None when it names nothing on disk (e.g. a text)."""
    try:
        path = Path(item).expanduser()
        return path if path.exists() else None
    except (OSError, ValueError):  # names too long, or holding NUL bytes, are texts
        return None
