"""Reads a user's CSV file, turning every way it can be unreadable into one clear error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfapps.errors import InvalidInput

SNIFF_BYTES = 65536


def read_csv_file(path: Path, **read_options) -> pd.DataFrame:
    """Returns the CSV at `path` as a DataFrame, or raises `InvalidInput` naming the file.

    Refuses binary files, empty files, files that are not UTF-8 and text that does not parse
    as CSV, each with its own message.

    Args:
        path: the CSV file.
        **read_options: passed on to `pandas.read_csv` (e.g. `dtype=str`).
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\x00" in head:
        raise InvalidInput(f"{path} is not a text file (it holds binary data); expected a CSV.")
    try:
        return pd.read_csv(path, encoding="utf-8", **read_options)
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"{path} is not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8."
        ) from None
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path} is empty; expected a CSV with a header row.") from None
    except pd.errors.ParserError as error:
        first = str(error).strip().splitlines()[0]
        raise InvalidInput(f"{path} is not a readable CSV file: {first}") from None
