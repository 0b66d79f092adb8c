"""Text files and text folders: one text a file, read by its content whatever its name.

A text folder follows the layout rules image folders follow (`folders`: `root/<label>/...`,
split folders in any spelling, links, hidden files, aclImdb's `unsup`). Every file of a
label folder is read as text whatever its suffix (`.txt`, `.TXT`, none as in 20 Newsgroups,
`.md`, ...): UTF-8, or the encoding its byte-order mark names (`text_encoding`: UTF-16 from
Notepad, say), the mark never part of it. A file holding NUL bytes without a mark is binary
(a picture, a PDF) or UTF-16 without a mark and is skipped, with a warning saying which;
bytes that are not valid in the file's encoding (a Latin-1 or Windows-1252 file read as
UTF-8) are read as U+FFFD, counted and warned of, so one odd file does not cost its text.
`tfapps predict` reads folders and files the same way (`tasks.text_inputs`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tfapps.data.folder_walk import walk_files
from tfapps.data.folders import FolderLayout, read_layout
from tfapps.data.summary import Skipped, count_phrase, skipped_line
from tfapps.data.text_encoding import NotText, TextEncoding, decode_text
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

UNREADABLE = "cannot be opened"


class TextReadError(Exception):
    """A file that cannot be read as text.

    Args:
        path: the file.
        reason: `UNREADABLE` or a `text_encoding.NotText` reason (skipped files are grouped
            by it).
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} cannot be read as text: {reason}")
        self.path, self.reason = path, reason


def read_text_file(path: Path) -> tuple[str, TextEncoding, bool]:
    """Reads one file as text (`text_encoding.decode_text`).

    Args:
        path: the file.

    Returns:
        `(its text without a byte-order mark, the encoding read, whether every byte was
        valid in it)`; invalid bytes become U+FFFD.

    Raises:
        TextReadError: the file holds NUL bytes without a byte-order mark (binary, or
            UTF-16 without the mark) or cannot be opened.
    """
    try:
        data = path.read_bytes()
    except OSError:
        raise TextReadError(path, UNREADABLE) from None
    try:
        return decode_text(data)
    except NotText as error:
        raise TextReadError(path, error.reason) from None


@dataclass
class TextFiles:
    """What reading many text files found beside their texts: files skipped (by reason),
    files read with invalid bytes replaced (by encoding) and files read in an encoding other
    than UTF-8 (by encoding)."""

    skipped: Skipped = field(default_factory=Skipped)
    replaced: Skipped = field(default_factory=Skipped)
    encodings: Counter = field(default_factory=Counter)

    def read(self, path: Path) -> str | None:
        """The text of the file at `path`, or `None` when it is skipped (and counted)."""
        try:
            text, encoding, clean = read_text_file(path)
        except TextReadError as error:
            self.skipped.add(error.reason, path)
            return None
        if not clean:
            self.replaced.add(encoding.name, path)
        if not encoding.is_utf8:
            self.encodings[encoding.name] += 1
        return text

    @property
    def encodings_read(self) -> dict[str, int]:
        """Files read in each encoding other than UTF-8, most first (`{"UTF-16 LE": 3}`)."""
        return dict(sorted(self.encodings.items(), key=lambda item: (-item[1], item[0])))

    def warnings(self) -> list[str]:
        """The warnings about files skipped, and read with invalid bytes replaced."""
        warnings = [skipped_line(self.skipped.to_dict(), "file")] if self.skipped.counts else []
        for name, count in self.replaced.counts.most_common():
            warnings.append(
                f"{count_phrase(count, 'file')} not {name} (e.g. {self.replaced.examples[name]}): "
                f"read with the bytes that are not {name} as U+FFFD (�)"
            )
        return warnings

    def encodings_note(self) -> str:
        """`3 files UTF-16 LE (by their byte-order mark)`, or `""` when all were UTF-8."""
        shown = ", ".join(
            f"{count_phrase(n, 'file')} {name}" for name, n in self.encodings_read.items()
        )
        return f"{shown} (by their byte-order mark)" if shown else ""


@dataclass
class TextFolder:
    """A text folder as read.

    Args:
        layout: its layout (split folders, what was left out of it).
        table: one row a text: `text`, `label` (the label folder's name), `split` (the
            split folder, or `None`), `where` (the file).
        warnings: files skipped or read with replaced bytes.
        files: what reading the files found (`TextFiles`: files skipped by reason, the
            encodings read).
    """

    layout: FolderLayout
    table: pd.DataFrame
    warnings: list[str]
    files: TextFiles


def read_text_folder(root: Path) -> TextFolder:
    """Reads `root/<label>/...` (or `root/<split>/<label>/...`), one text a file.

    Raises:
        InvalidInput: no label folder holds a file, a label folder holds only binary files
            (named), a layout `folders.read_layout` refuses.
    """
    import pandas as pd

    layout = read_layout(root, "text", "root/<label>/*.txt")
    rows, files, read = [], TextFiles(), set()
    for file in layout.files:
        text = files.read(file.path)
        if text is None:
            continue
        read.add(file.folder)
        rows.append((text, file.label, file.split, str(file.path)))
    unread = sorted({file.folder for file in layout.files} - read)
    if unread:
        raise InvalidInput(
            f"Label folder {unread[0]} holds files but no text: "
            f"{skipped_line(files.skipped.to_dict(), 'file')}."
        )
    return TextFolder(
        layout,
        pd.DataFrame(rows, columns=["text", "label", "split", "where"]),
        [*layout.summary_warnings(), *files.warnings()],
        files,
    )


def read_texts_under(folder: Path) -> tuple[list[Path], list[str], list[str]]:
    """Every text file under `folder` (`folder_walk.walk_files`), for `tfapps predict`.

    Returns:
        `(files read, their texts, warnings about files skipped or read with replaced
        bytes)`.
    """
    files = TextFiles()
    paths, texts = [], []
    for path in walk_files(folder, files.skipped):
        text = files.read(path)
        if text is not None:
            paths.append(path)
            texts.append(text)
    return paths, texts, files.warnings()
