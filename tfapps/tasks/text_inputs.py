"""Texts for a finished sentiment run, from what a user gives `tfapps predict` or sends
`tfapps serve` (`served_text`).

A folder is read as training reads folders (each file under it is one text, whatever its
suffix, links followed: `text_folders.read_texts_under`); a `.txt` file is one text for a
folder-trained model and one text per line otherwise (`text_per`
overrides); a `.csv` file gives the rows of the model's text column; anything else is a text
itself, unless it is one word that looks like a missing file or folder
(`raw_inputs.looks_like_path`), which is refused. A byte-order mark is never part of a text.
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path

import numpy as np

from tfapps.data.text_encoding import ACCEPTED, UTF8, bom_encoding
from tfapps.data.text_folders import TextReadError, read_text_file, read_texts_under
from tfapps.errors import InvalidInput
from tfapps.raw_inputs import as_path, looks_like_path, read_table, shown
from tfapps.runs import RunRecord

log = logging.getLogger("tfapps")


def text_inputs(record: RunRecord, input_name: str, inputs: list[str], text_per: str | None):
    """Texts, `.txt` and `.csv` files and folders as the model's string input (see the module
    docstring).

    Args:
        record: the run's record.
        input_name: the SavedModel's input.
        inputs: what the user gave.
        text_per: `"file"` or `"line"`: how a `.txt` file holds texts. Defaults to the way
            the model was trained (`None`).

    Returns:
        `(one name per text, {input_name: object array of the texts})`.
    """
    trained_on_folder = record.dataset.spec.unit == "file"
    per_file = text_per == "file" if text_per else trained_on_folder
    names, texts = [], []
    for item in inputs:
        path = as_path(item)
        if path is None and looks_like_path(item):
            raise InvalidInput(
                f"{shown(item)!r} looks like a file or folder but does not exist; this "
                "sentiment model takes texts (with at least one space), .txt and .csv files "
                "and folders of text files."
            )
        if path is None:
            names.append(shown(item))
            texts.append(item.removeprefix("\ufeff"))
        elif path.is_dir():
            files, read, warnings = read_texts_under(path)
            if not files:
                raise InvalidInput(
                    f"No text files under {path}; a folder holds one text a file"
                    + (f" ({'; '.join(warnings)})." if warnings else ".")
                )
            for warning in warnings:
                log.warning(warning)
            names += [str(file) for file in files]
            texts += read
        elif path.suffix.lower() == ".csv":
            column = record.run_config.text_column
            table = read_table(path)
            if column not in table.columns:
                raise InvalidInput(
                    f"{path} has no column {column!r}, the text column this model was trained "
                    f"on; its columns are {list(table.columns)}."
                )
            names += [shown(text) for text in table[column]]
            texts += list(table[column])
        elif per_file:
            names.append(str(path))
            texts.append(read_text(path))
        else:
            lines = [line for line in read_text(path).splitlines() if line.strip()]
            names += [shown(line) for line in lines]
            texts += lines
    return names, {input_name: np.array(texts, dtype=object)}


def read_text(path: Path) -> str:
    """A text file's text as training reads it (`text_folders.read_text_file`): UTF-8 or the
    encoding its byte-order mark names, without the mark, invalid bytes as U+FFFD (with a
    warning).

    Raises:
        InvalidInput: the file is binary (holds NUL bytes), UTF-16 without a byte-order mark,
            or cannot be opened.
    """
    try:
        text, encoding, clean = read_text_file(path)
    except TextReadError as error:
        raise InvalidInput(
            f"{path} is not a text file tfapps reads: {error.reason}; this sentiment model "
            f"takes texts, text files ({ACCEPTED}) or folders of them."
        ) from None
    if not clean:
        log.warning(
            "%s is not %s: read with the bytes that are not %s as U+FFFD",
            path,
            encoding.name,
            encoding.name,
        )
    return text


def served_text(value, name: str) -> str:
    """One text of a TF Serving request: a string, or `{"b64": <text>}` (UTF-8, or the
    encoding its byte-order mark names); a byte-order mark is never part of a text.

    Raises:
        BadRequest: a value that is not a text, named.
    """
    from tfapps.serving_bodies import BadRequest
    from tfapps.serving_requests import kind_of

    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            data = base64.b64decode(value["b64"], validate=True)
            return data.decode((bom_encoding(data) or UTF8).codec)
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f'Input {name!r}: "b64" must hold base64 text ({ACCEPTED}).') from None
    if not isinstance(value, str):
        raise BadRequest(f"Input {name!r} takes strings. Received: {kind_of(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:  # JSON's "\ud800" escapes decode to lone surrogates
            raise BadRequest(
                f"Input {name!r} takes Unicode text; {error.object[error.start]!r} at "
                f"character {error.start} is half of a UTF-16 surrogate pair."
            ) from None
    return value.removeprefix("\ufeff")
