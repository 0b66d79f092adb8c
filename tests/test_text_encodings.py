"""Text in any encoding a byte-order mark names is read, everywhere text is read: CSV files for
text and tables, text folders, `tfapps predict`'s text files, served b64 texts; UTF-16 without
a mark and binary files are refused, saying what was found and what is accepted."""

from __future__ import annotations

import base64
import codecs
import logging

import numpy as np
import pandas as pd
import pytest
from conftest import text_record

from tfapps.data.csv_files import read_csv_file
from tfapps.data.text_encoding import NotText, decode_text, file_encoding
from tfapps.errors import InvalidInput

# (Python codec without the mark, the mark, the name tfapps gives)
MARKED = [
    ("utf-8", codecs.BOM_UTF8, "UTF-8"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 LE"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16 BE"),
    ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32 LE"),
    ("utf-32-be", codecs.BOM_UTF32_BE, "UTF-32 BE"),
]
IDS = [name for _, _, name in MARKED]
TEXT = "Straße, café, Отлично 😍 とても良い"


def _marked(text: str, codec: str, mark: bytes) -> bytes:
    return mark + text.encode(codec)


def _rows(count: int = 40) -> str:
    """A two-class CSV of texts in several scripts, a number column and a numeric target."""
    words = ["Отлично", "ужасно", "très bien", "schlecht", "とても良い", "最悪"]
    lines = ["text,label,x,y"]
    for i in range(count):
        lines.append(f"{words[i % 6]} {i} 😍,{'ab'[i % 2]},{i / 4},{2 * i + 1}")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(("codec", "mark", "name"), MARKED, ids=IDS)
def test_a_byte_order_mark_names_the_encoding_and_is_not_part_of_the_text(codec, mark, name):
    text, encoding, clean = decode_text(_marked(TEXT, codec, mark))
    assert (text, encoding.name, clean) == (TEXT, name, True)


def test_without_a_mark_text_is_utf8_and_nul_bytes_are_named_for_what_they_look_like():
    assert decode_text(TEXT.encode())[1].name == "UTF-8"
    found = {}
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        with pytest.raises(NotText) as error:
            file_encoding("text,label\ngood film,pos\n".encode(codec))
        found[codec] = error.value.looks_like
    assert found == {
        "utf-16-le": "UTF-16 LE",
        "utf-16-be": "UTF-16 BE",
        "utf-32-le": "UTF-32 LE",
        "utf-32-be": "UTF-32 BE",
    }
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x08"
    for binary in (png, bytes(range(256)) * 8, np.random.default_rng(0).bytes(4096)):
        with pytest.raises(NotText) as error:
            file_encoding(binary)
        assert error.value.looks_like is None, binary[:16]
    with pytest.raises(NotText):  # a mark in front of binary data does not make it text
        decode_text(codecs.BOM_UTF16_LE + b"a\x00\x00\x00\x01\x02")


@pytest.mark.parametrize(("codec", "mark", "name"), MARKED, ids=IDS)
@pytest.mark.parametrize("compact", [False, True])
def test_a_csv_in_a_marked_encoding_reads_as_its_utf8_copy(tmp_path, codec, mark, name, compact):
    (tmp_path / "utf8.csv").write_text(_rows(), encoding="utf-8")
    (tmp_path / "marked.csv").write_bytes(_marked(_rows(), codec, mark))
    expected = read_csv_file(tmp_path / "utf8.csv", compact=compact)
    read = read_csv_file(tmp_path / "marked.csv", compact=compact)
    pd.testing.assert_frame_equal(read.frame, expected.frame)
    assert read.encoding.name == name
    assert read.described == (
        "delimiter comma (,)" if name == "UTF-8" else f"{name}, delimiter comma (,)"
    )


def test_a_utf16_csv_pyarrow_refuses_is_read_by_pandas_in_its_encoding(tmp_path):
    text = "text;label\nbon film;pos\n   \nmauvais;neg\nun autre;pos;extra\n"
    (tmp_path / "odd.csv").write_bytes(_marked(text, "utf-16-le", codecs.BOM_UTF16_LE))
    (tmp_path / "odd8.csv").write_text(text)
    with pytest.raises(InvalidInput) as refused:
        read_csv_file(tmp_path / "odd.csv")
    with pytest.raises(InvalidInput) as refused8:
        read_csv_file(tmp_path / "odd8.csv")
    assert str(refused.value).replace("odd.csv", "odd8.csv") == str(refused8.value)
    text = "text;label\nbon film;pos\n   \nmauvais;neg\n"
    (tmp_path / "spaces.csv").write_bytes(_marked(text, "utf-16-be", codecs.BOM_UTF16_BE))
    frame = read_csv_file(tmp_path / "spaces.csv").frame
    assert list(frame["text"]) == ["bon film", "mauvais"]


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (
            _rows().encode("utf-16-le"),
            ("looks like UTF-16 LE text without a byte-order mark", "save it as UTF-8"),
        ),
        (
            _rows().encode("utf-16-be"),
            ("looks like UTF-16 BE text without a byte-order mark", "UTF-16 or UTF-32 with a"),
        ),
        (bytes(range(256)) * 8, ("is not a text file (it holds binary data)", "expected a CSV")),
        (
            codecs.BOM_UTF16_LE + "text,label\n".encode("utf-16-le") + b"\x00\xd8a\x00",
            ("is not UTF-16 LE text", "save it as UTF-8"),
        ),
    ],
    ids=["utf-16-le unmarked", "utf-16-be unmarked", "binary", "broken utf-16"],
)
def test_a_csv_that_is_not_text_tfapps_reads_is_refused_saying_what_it_is(
    tmp_path, content, fragments
):
    (tmp_path / "data.csv").write_bytes(content)
    with pytest.raises(InvalidInput) as refused:
        read_csv_file(tmp_path / "data.csv")
    message = str(refused.value)
    assert "data.csv" in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def _load(config):
    from tfapps.data.load import load_splits

    return load_splits(config)


def test_every_csv_reader_reads_utf16_and_says_so(tmp_path):
    from tfapps.tasks.table_classification import TableClassifyConfig
    from tfapps.tasks.table_regression import RegressConfig
    from tfapps.tasks.text import SentimentConfig

    path = tmp_path / "reviews.csv"
    path.write_bytes(_marked(_rows(), "utf-16-le", codecs.BOM_UTF16_LE))
    configs = {
        "sentiment": SentimentConfig(dataset=str(path), quiet=True),
        "regress": RegressConfig(dataset=str(path), target="y", drop=("text",), quiet=True),
        "table-classify": TableClassifyConfig(
            dataset=str(path), target="label", drop=("text", "y"), quiet=True
        ),
    }
    for task, config in configs.items():
        summary = _load(config).info.summary
        assert "reviews.csv (UTF-16 LE, delimiter comma (,)" in summary.lines[0], task
        assert summary.facts["encoding"] == "UTF-16 LE", task
    splits = _load(configs["sentiment"])
    texts = {t.decode() for t, _ in splits.train.concatenate(splits.test).as_numpy_iterator()}
    assert "Отлично 0 😍" in texts or "Отлично 6 😍" in texts
    (tmp_path / "plain.csv").write_text(_rows(), encoding="utf-8")
    summary = _load(SentimentConfig(dataset=str(tmp_path / "plain.csv"), quiet=True)).info.summary
    assert "(delimiter comma (,))" in summary.lines[0] and summary.facts["encoding"] == "UTF-8"


def test_a_text_folder_reads_marked_files_and_names_unmarked_utf16(tmp_path, caplog):
    from tfapps.tasks.text import SentimentConfig

    root = tmp_path / "texts"
    for label in ("neg", "pos"):
        (root / label).mkdir(parents=True)
        for i in range(6):
            (root / label / f"{i}.txt").write_text(f"{label} review number {i}")
    (root / "pos" / "notepad.txt").write_bytes(
        _marked("Отлично, très bien 😍", "utf-16-le", codecs.BOM_UTF16_LE)
    )
    (root / "neg" / "excel.txt").write_bytes(
        _marked("ужасно, schlecht", "utf-32-be", codecs.BOM_UTF32_BE)
    )
    (root / "neg" / "unmarked.txt").write_bytes("bad bad film".encode("utf-16-le"))
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(SentimentConfig(dataset=str(root), quiet=True))
    assert sum(splits.info.sizes.values()) == 14
    summary = splits.info.summary
    assert "1 file UTF-16 LE, 1 file UTF-32 BE (by their byte-order mark)" in summary.lines[0]
    assert summary.facts["encodings"] == {"UTF-16 LE": 1, "UTF-32 BE": 1}
    assert "skipped 1 file: UTF-16 LE without a byte-order mark: save it as UTF-8" in caplog.text
    assert "unmarked.txt" in caplog.text
    texts = {
        t.decode()
        for split in ("train", "validation", "test")
        for t, _ in getattr(splits, split).as_numpy_iterator()
    }
    assert {"Отлично, très bien 😍", "ужасно, schlecht"} <= texts


def test_predict_reads_marked_text_files_and_refuses_unmarked_utf16(tmp_path):
    from tfapps.tasks.text_inputs import text_inputs

    (tmp_path / "one.txt").write_bytes(
        _marked("Отлично 😍\r\nsecond line\r\n", "utf-16-le", codecs.BOM_UTF16_LE)
    )
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.txt").write_bytes(_marked(TEXT, "utf-16-be", codecs.BOM_UTF16_BE))
    (tmp_path / "rows.csv").write_bytes(
        _marked("text,label\nÜberragend,pos\n", "utf-32-le", codecs.BOM_UTF32_LE)
    )
    _, lines = text_inputs(text_record("row"), "texts", [str(tmp_path / "one.txt")], None)
    assert list(lines["texts"]) == ["Отлично 😍", "second line"]
    _, files = text_inputs(text_record("file"), "texts", [str(tmp_path / "folder")], None)
    assert list(files["texts"]) == [TEXT]
    _, rows = text_inputs(text_record("row"), "texts", [str(tmp_path / "rows.csv")], None)
    assert list(rows["texts"]) == ["Überragend"]
    (tmp_path / "unmarked.txt").write_bytes("a film".encode("utf-16-le"))
    with pytest.raises(InvalidInput) as refused:
        text_inputs(text_record("row"), "texts", [str(tmp_path / "unmarked.txt")], None)
    message = str(refused.value)
    assert "unmarked.txt" in message and "UTF-16 LE without a byte-order mark" in message
    assert "UTF-8, or UTF-16 or UTF-32 with a byte-order mark" in message


def test_a_served_b64_text_is_read_in_its_marked_encoding():
    from tfapps.tasks.text_inputs import served_text

    for codec, mark, _ in MARKED:
        value = {"b64": base64.b64encode(_marked(TEXT, codec, mark)).decode()}
        assert served_text(value, "texts") == TEXT, codec
    assert served_text({"b64": base64.b64encode(TEXT.encode()).decode()}, "texts") == TEXT
