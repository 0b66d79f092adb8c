"""Reads a user's CSV file as written: its delimiter, its encoding, every cell a string.

Spreadsheets export CSV in several dialects. The delimiter is detected among `,` `;` tab and
`|` (pandas' `sep=None` sniffing, limited to those four) unless `--sep` forces one, and the
reader says which it used. A byte-order mark names the encoding (`text_encoding`: UTF-8,
UTF-16 or UTF-32, as Excel's "Unicode text" writes), UTF-8 without one. Cells are kept as
strings (nothing is guessed yet; pyarrow's CSV reader, falling back on pandas' own where
pyarrow refuses a file): columns become numbers, categories or texts later, in `tables.py`
and `texts.py`, where missing markers and number formats are known. Every way a file can be
unreadable is one clear error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tfapps.data.text_encoding import UTF8, NotText, TextEncoding, decode_head, file_encoding
from tfapps.errors import InvalidInput

SNIFF_BYTES = 65536
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class CsvTable:
    """A CSV file read as strings.

    Args:
        frame: every cell as a `str` (empty cells as `""`), columns as in the header: pandas'
            string columns, or pyarrow's where `read_csv_file` was asked for `compact` ones.
        sep: the delimiter used.
        sep_detected: whether it was detected (else forced by `--sep`).
        encoding: the encoding the file was read in (its byte-order mark's, else UTF-8).
    """

    frame: pd.DataFrame
    sep: str
    sep_detected: bool
    encoding: TextEncoding = UTF8

    @property
    def sep_name(self) -> str:
        """The delimiter in words, such as `"semicolon (;)"`."""
        shown = "\\t" if self.sep == "\t" else self.sep
        return f"{DELIMITER_NAMES.get(self.sep, 'custom')} ({shown})"

    @property
    def described(self) -> str:
        """How the file was read, for the summary: `"delimiter semicolon (;)"`, the
        encoding first when it is not UTF-8 (`"UTF-16 LE, delimiter comma (,)"`)."""
        delimiter = f"delimiter {self.sep_name}"
        return delimiter if self.encoding.is_utf8 else f"{self.encoding.name}, {delimiter}"


def read_csv_file(path: Path, sep: str | None = None, compact: bool = False) -> CsvTable:
    """Reads the CSV at `path`, every cell a string.

    Args:
        path: the CSV file: UTF-8, or the encoding its byte-order mark names
            (`text_encoding.file_encoding`).
        sep: the delimiter; `None` detects one of `DELIMITERS`. Defaults to `None`.
        compact: hold the cells as pyarrow's strings (`pandas.ArrowDtype(pyarrow.string())`,
            a third smaller than pandas' own for short cells: 32-bit offsets), for a reader
            that turns each column into pandas strings as it takes it out
            (`split_table.SplitTable`). A file that pyarrow refuses is read into pandas'
            strings all the same. Defaults to False.

    Raises:
        InvalidInput: naming the file when it is binary (or UTF-16 without a byte-order
            mark), empty, not in its encoding, does not parse, or parses to a single column
            that holds another delimiter.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        encoding = file_encoding(head)
        sample = decode_head(head, encoding)
    except NotText as error:
        raise InvalidInput(error.sentence(path, "a CSV")) from None
    except UnicodeDecodeError as error:
        raise InvalidInput(_not_in(path, encoding, error)) from None
    if not sample.strip():
        raise InvalidInput(f"{path} is empty; expected a CSV with a header row.")
    detected = sep is None
    sep = detect_delimiter(sample) if detected else sep
    try:
        frame = _read_strings(path, sep, compact, encoding)
    except UnicodeDecodeError as error:
        raise InvalidInput(_not_in(path, encoding, error)) from None
    except pd.errors.EmptyDataError:
        raise InvalidInput(f"{path} is empty; expected a CSV with a header row.") from None
    except pd.errors.ParserError as error:
        first = str(error).strip().splitlines()[0]
        raise InvalidInput(
            f"{path} is not a readable CSV file with the {_name(sep)} delimiter"
            f"{' it seems to use' if detected else ''}: {first}. Pass --sep to name the "
            "delimiter (, ; tab or |)."
        ) from None
    frame.columns = [str(column).strip() for column in frame.columns]
    _refuse_one_column_holding_a_delimiter(frame, path, sep)
    return CsvTable(frame, sep, detected, encoding)


def _not_in(path: Path, encoding: TextEncoding, error: UnicodeDecodeError) -> str:
    return (
        f"{path} is not {encoding.name} text (byte {error.start}: {error.reason}); save it as "
        "UTF-8."
    )


def _read_strings(path: Path, sep: str, compact: bool, encoding: TextEncoding) -> pd.DataFrame:
    """The file's cells as strings: pyarrow's CSV reader (`_read_arrow`), or pandas' own C
    reader where pyarrow refuses the file (rows of other lengths, lines of spaces, bytes
    that are not UTF-8, columns without a name or named twice), which reads those as it
    always did (and names what is wrong with the others). A delimiter of several
    characters takes the Python reader."""
    import pyarrow

    options = {"sep": sep, "dtype": str, "keep_default_na": False, "encoding": encoding.codec}
    if len(sep) > 1:
        return pd.read_csv(path, engine="python", **options)
    try:
        return _read_arrow(path, sep, compact, encoding)
    except pyarrow.ArrowInvalid:
        return pd.read_csv(path, engine="c", **options)


def _read_arrow(path: Path, sep: str, compact: bool, encoding: TextEncoding) -> pd.DataFrame:
    """The cells as pandas reads them with its pyarrow engine (`read_csv(engine="pyarrow",
    dtype=str, keep_default_na=False)`: a million rows in a fraction of a second, a UTF-8
    byte-order mark skipped), in pandas' string columns or, `compact`, in pyarrow's (see
    `read_csv_file`). A file in another encoding is turned into UTF-8 as it is read, block
    by block (pyarrow's `ReadOptions.encoding`). The reader runs in this thread: the buffers
    that reader threads allocate stay with them once freed (a million rows of 8 columns held
    about 30 MB more), and the read is fast enough without them.

    Raises:
        pyarrow.ArrowInvalid: a file the reader refuses, or whose header leaves a column
            unnamed or names one twice (pandas' readers name and number those).
    """
    import pyarrow
    from pyarrow import csv as arrow_csv

    strings = pyarrow.string() if compact else pyarrow.large_string()  # pandas' own: 64-bit
    read_options = arrow_csv.ReadOptions(use_threads=False)
    if not encoding.is_utf8:
        read_options.encoding = encoding.codec
    table = arrow_csv.read_csv(
        path,
        read_options=read_options,
        parse_options=arrow_csv.ParseOptions(delimiter=sep),
        convert_options=arrow_csv.ConvertOptions(
            default_column_type=strings, null_values=[], strings_can_be_null=False
        ),
    )
    names = table.column_names
    if "" in names or len(set(names)) < len(names):
        raise pyarrow.ArrowInvalid(f"a column without a name or named twice: {names}")
    dtype = pd.ArrowDtype(strings) if compact else pd.api.types.pandas_dtype(str)
    frame = table.to_pandas(types_mapper=lambda _: dtype)
    del table
    release_arrow_memory()
    return frame


def release_arrow_memory() -> None:
    """Returns to the system what pyarrow's memory pool keeps of freed buffers (tens of MB
    once a large table's columns are let go)."""
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def detect_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample among `DELIMITERS`: Python's `csv.Sniffer`, checked by
    the header and the next lines splitting into the same number of fields (more than one);
    `,` when nothing else fits."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS))
        candidates = [sniffed.delimiter, *DELIMITERS]
    except csv.Error:
        candidates = list(DELIMITERS)
    joined = "\n".join(lines)
    for candidate in dict.fromkeys(candidates):
        widths = {len(row) for row in csv.reader(io.StringIO(joined), delimiter=candidate)}
        if len(widths) == 1 and widths.pop() > 1:
            return candidate
    counts = {candidate: lines[0].count(candidate) for candidate in DELIMITERS} if lines else {}
    best = max(counts, key=counts.get) if counts else ","
    return best if counts.get(best) else ","


def _refuse_one_column_holding_a_delimiter(frame: pd.DataFrame, path: Path, sep: str) -> None:
    if len(frame.columns) != 1:
        return
    header = frame.columns[0]
    others = [d for d in DELIMITERS if d != sep and d in header]
    if others:
        raise InvalidInput(
            f"{path} parsed as a single column {header!r} with the {_name(sep)} delimiter; it "
            f"looks {_name(others[0])}-separated: pass --sep {_shell(others[0])}."
        )


def _name(sep: str) -> str:
    return DELIMITER_NAMES.get(sep, repr(sep))


def _shell(sep: str) -> str:
    return {"\t": "'\\t'", ";": "';'", "|": "'|'"}.get(sep, sep)
