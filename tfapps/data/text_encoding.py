"""How the bytes of a text file become text: UTF-8, or the encoding its byte-order mark names.

Every reader of text (CSV files for text and tables, text folders, `tfapps predict`'s text
files, served `{"b64": ...}` texts) asks `file_encoding` or `bom_encoding`, then decodes with
the codec it gives. A file that starts with a byte-order mark is read in that encoding
(UTF-8, UTF-16 or UTF-32, little- or big-endian; Windows' Notepad and Excel's "Unicode text"
write UTF-16 with one), the mark never part of the text. A file without one is UTF-8. NUL
bytes in a file without a mark mean a binary file (a picture, a PDF), or UTF-16 or UTF-32
saved without a mark (`NotText` says which it looks like), both refused: without the mark
the byte order is a guess.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

ACCEPTED = "UTF-8, or UTF-16 or UTF-32 with a byte-order mark"


@dataclass(frozen=True)
class TextEncoding:
    """An encoding text is read in.

    Args:
        name: as messages and run.json name it: `"UTF-8"`, `"UTF-16 LE"`, `"UTF-32 BE"`.
        codec: the Python codec that decodes the whole file, its byte-order mark skipped
            (`"utf-8-sig"`, `"utf-16"`, `"utf-32"`).
    """

    name: str
    codec: str

    @property
    def is_utf8(self) -> bool:
        return self.codec == UTF8.codec


UTF8 = TextEncoding("UTF-8", "utf-8-sig")
# UTF-32 LE's mark begins with UTF-16 LE's: the longer marks are tried first.
MARKS = (
    (codecs.BOM_UTF32_LE, TextEncoding("UTF-32 LE", "utf-32")),
    (codecs.BOM_UTF32_BE, TextEncoding("UTF-32 BE", "utf-32")),
    (codecs.BOM_UTF8, UTF8),
    (codecs.BOM_UTF16_LE, TextEncoding("UTF-16 LE", "utf-16")),
    (codecs.BOM_UTF16_BE, TextEncoding("UTF-16 BE", "utf-16")),
)
UNMARKED = ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")  # tried on NUL bytes
TEXT_CONTROLS = frozenset("\t\n\r\f\v")


class NotText(Exception):
    """Bytes that are not text tfapps reads: binary, or UTF-16/UTF-32 without a byte-order
    mark.

    Args:
        looks_like: the encoding the bytes read as (`"UTF-16 LE"`), or `None` for binary.
    """

    def __init__(self, looks_like: str | None) -> None:
        self.looks_like = looks_like
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """What was found, short enough to group skipped files by."""
        if self.looks_like is None:
            return "binary, not text (it holds NUL bytes)"
        return f"{self.looks_like} without a byte-order mark: save it as UTF-8"

    def sentence(self, path, expected: str) -> str:
        """The one-line refusal of the file at `path`, which was to be `expected` (`"a
        CSV"`): what was found and what is accepted."""
        if self.looks_like is None:
            return f"{path} is not a text file (it holds binary data); expected {expected}."
        return (
            f"{path} looks like {self.looks_like} text without a byte-order mark; save it as "
            f"UTF-8 (tfapps reads {ACCEPTED})."
        )


def bom_encoding(head: bytes) -> TextEncoding | None:
    """The encoding the byte-order mark at the start of `head` names, or `None` without one."""
    for mark, encoding in MARKS:
        if head.startswith(mark):
            return encoding
    return None


def file_encoding(head: bytes) -> TextEncoding:
    """The encoding to read a file in, from its first bytes.

    Args:
        head: the file's first bytes (all of it, or its first 64 KB).

    Returns:
        The encoding its byte-order mark names, else UTF-8.

    Raises:
        NotText: no byte-order mark, and NUL bytes (binary, or UTF-16/32 without a mark).
    """
    found = bom_encoding(head)
    if found is not None:
        return found
    if b"\x00" in head:
        raise NotText(_unmarked_encoding(head))
    return UTF8


def decode_head(head: bytes, encoding: TextEncoding) -> str:
    """The text of a file's first bytes, a character cut by their end left out.

    Raises:
        UnicodeDecodeError: bytes that are not `encoding` before the end.
        NotText: the text holds U+0000 (binary behind a byte-order mark).
    """
    text = codecs.getincrementaldecoder(encoding.codec)("strict").decode(head, final=False)
    return _checked(text)


def decode_text(data: bytes) -> tuple[str, TextEncoding, bool]:
    """A whole file's text (`file_encoding`).

    Returns:
        `(its text without a byte-order mark, the encoding read, whether every byte was
        valid in it)`; invalid bytes become U+FFFD.

    Raises:
        NotText: as `file_encoding`, or the text holds U+0000 (binary behind a byte-order
            mark).
    """
    encoding = file_encoding(data)
    try:
        return _checked(data.decode(encoding.codec)), encoding, True
    except UnicodeDecodeError:
        return _checked(data.decode(encoding.codec, errors="replace")), encoding, False


def _checked(text: str) -> str:
    """`text`, refused as binary when it holds U+0000 (as NUL bytes are without a mark)."""
    if "\x00" in text:
        raise NotText(None)
    return text


def _unmarked_encoding(head: bytes) -> str | None:
    """The name of the wide encoding bytes holding NULs read as text in (`"UTF-16 LE"`), or
    `None`: decoded without an error into printable characters, spaces and line breaks."""
    for codec in UNMARKED:
        try:
            text = codecs.getincrementaldecoder(codec)("strict").decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if text and all(ch.isprintable() or ch in TEXT_CONTROLS for ch in text):
            return codec.upper().replace("-LE", " LE").replace("-BE", " BE")
    return None
