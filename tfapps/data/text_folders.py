"""Text files and text folders: one text a file, read by its content whatever its name.

A text folder follows the layout rules image folders follow (`folders`: `root/<label>/...`,
split folders in any spelling, links, hidden files, aclImdb's `unsup`). Every file of a
label folder is read as UTF-8 text whatever its suffix (`.txt`, `.TXT`, none as in 20
Newsgroups, `.md`, ...), a byte-order mark never part of it. A file holding NUL bytes is
binary (a picture, a PDF) and is skipped, with a warning; bytes that are not UTF-8 (a Latin-1
or Windows-1252 file) are read as U+FFFD, counted and warned of, so one odd file does not cost
its text. `tfapps predict` reads folders and files the same way (`tasks.text_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tfapps.data.folder_walk import walk_files
from tfapps.data.folders import FolderLayout, read_layout
from tfapps.data.summary import Skipped, count_phrase, skipped_line
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

BINARY = "binary, not text (it holds NUL bytes)"
UNREADABLE = "cannot be opened"
NOT_UTF8 = "not UTF-8"


class TextReadError(Exception):
    """A file that cannot be read as text.

    Args:
        path: the file.
        reason: `BINARY` or `UNREADABLE` (skipped files are grouped by it).
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is not a UTF-8 text file: {reason}")
        self.path, self.reason = path, reason


def read_text_file(path: Path) -> tuple[str, bool]:
    """Reads one file as text.

    Args:
        path: the file.

    Returns:
        `(its text without a byte-order mark, whether it was valid UTF-8)`; bytes that are
        not UTF-8 become U+FFFD.

    Raises:
        TextReadError: the file holds NUL bytes (binary) or cannot be opened.
    """
    try:
        data = path.read_bytes()
    except OSError:
        raise TextReadError(path, UNREADABLE) from None
    if b"\x00" in data:
        raise TextReadError(path, BINARY)
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", errors="replace"), False


@dataclass
class TextFolder:
    """A text folder as read.

    Args:
        layout: its layout (split folders, what was left out of it).
        table: one row a text: `text`, `label` (the label folder's name), `split` (the
            split folder, or `None`), `where` (the file).
        warnings: files skipped or read with replaced bytes.
        skipped: files skipped, by reason.
    """

    layout: FolderLayout
    table: pd.DataFrame
    warnings: list[str]
    skipped: Skipped


def read_text_folder(root: Path) -> TextFolder:
    """Reads `root/<label>/...` (or `root/<split>/<label>/...`), one text a file.

    Raises:
        InvalidInput: no label folder holds a file, a label folder holds only binary files
            (named), a layout `folders.read_layout` refuses.
    """
    import pandas as pd

    layout = read_layout(root, "text", "root/<label>/*.txt")
    rows, skipped, replaced, read = [], Skipped(), Skipped(), set()
    for file in layout.files:
        try:
            text, clean = read_text_file(file.path)
        except TextReadError as error:
            skipped.add(error.reason, file.path)
            continue
        if not clean:
            replaced.add(NOT_UTF8, file.path)
        read.add(file.folder)
        rows.append((text, file.label, file.split, str(file.path)))
    unread = sorted({file.folder for file in layout.files} - read)
    if unread:
        raise InvalidInput(
            f"Label folder {unread[0]} holds files but no text: "
            f"{skipped_line(skipped.to_dict(), 'file')}."
        )
    return TextFolder(
        layout,
        pd.DataFrame(rows, columns=["text", "label", "split", "where"]),
        [*layout.summary_warnings(), *file_warnings(skipped, replaced)],
        skipped,
    )


def read_texts_under(folder: Path) -> tuple[list[Path], list[str], list[str]]:
    """Every text file under `folder` (`folder_walk.walk_files`), for `tfapps predict`.

    Returns:
        `(files read, their texts, warnings about files skipped or read with replaced
        bytes)`.
    """
    skipped, replaced = Skipped(), Skipped()
    paths, texts = [], []
    for path in walk_files(folder, skipped):
        try:
            text, clean = read_text_file(path)
        except TextReadError as error:
            skipped.add(error.reason, path)
            continue
        if not clean:
            replaced.add(NOT_UTF8, path)
        paths.append(path)
        texts.append(text)
    return paths, texts, file_warnings(skipped, replaced)


def file_warnings(skipped: Skipped, replaced: Skipped) -> list[str]:
    """The warnings about text files skipped, and read with their non-UTF-8 bytes replaced."""
    warnings = [skipped_line(skipped.to_dict(), "file")] if skipped.counts else []
    if replaced.counts:
        count = replaced.counts[NOT_UTF8]
        warnings.append(
            f"{count_phrase(count, 'file')} not UTF-8 (e.g. {replaced.examples[NOT_UTF8]}): "
            "read with the bytes that are not UTF-8 as U+FFFD (�)"
        )
    return warnings
