"""The bad-input matrix across every command (docs/RELIABILITY.md lists it).

Each case builds its input in a temporary folder and runs one `tfapps` command in-process.
A case that should be refused ends with its exit status (2 for a user's mistake) and exactly
one line on stderr, `Error: ...`, naming the value; a case that is odd but valid (non-ASCII
column names, a path with spaces, a 1 MB text, missing feature values) must succeed. No case
may print a traceback. Cases that need a trained run, or that train, are marked `slow`.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_reviews as _reviews
from conftest import tiny_table as _table
from conftest import write_png_folder

SMALL_TEXT = ["--max-tokens", "200", "--sequence-length", "20", "--embedding-dim", "8"]
ROWS = "".join(f"{i},{i % 3},{i * 2.5}\n" for i in range(30))
# Prices near 300,000, the 4th and 21st typed with three extra zeros.
PRICES = "".join(
    f"{i},{i % 3},{(300_000 + 997 * i) * (1000 if i in (3, 20) else 1)}\n" for i in range(40)
)
SPREAD = "".join(f"{i},{i % 3},{10 ** (i / 6.5):.3f}\n" for i in range(40))  # 1 to 1.4e6
CODES = "".join(
    f"{('00501', '501', '01234', '1234')[i % 4]},{i % 5},{i % 4 + i / 10}\n" for i in range(40)
)
MANY_CLASSES = "".join(  # no two texts alike (copies would go to one split)
    f"word{c} token{c} more words {i},l{c:03d}\n"
    for c in range(300)
    for i in range(2 if c % 2 else 6)
)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims a huge image (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


@dataclass
class Case:
    """One row of the matrix: how to build the input, and what must happen.

    Args:
        name: the case as docs/RELIABILITY.md names it.
        build: `(tmp_path, trained runs or None) -> CLI arguments`.
        refused: whether the command must refuse (else succeed).
        fragments: texts the `Error:` line must hold (`{tmp}` stands for the case's folder).
        exit_code: the refusal's exit status.
        needs_runs: the case uses the `tiny_runs` (conftest.py).
        after: a check of the files left behind, `(tmp_path, result) -> None`.
        click_usage: Click itself refuses the value, printing its usage hint (`Usage: ...`,
            `Try ... --help`) above the `Error:` line.
        warns: texts a `Warning:` line on stderr must hold.
    """

    name: str
    build: Callable
    refused: bool = True
    fragments: tuple[str, ...] = ()
    exit_code: int = 2
    needs_runs: bool = False
    after: Callable | None = None
    click_usage: bool = False
    warns: tuple[str, ...] = ()


def _write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _image_folder_with(tmp, name: str, content: bytes) -> Path:
    root = write_png_folder(tmp / "imgs", {"a": 4, "b": 4}, size=(8, 8))
    _write(root / "a" / name, content)
    return root


def _train(command: str, dataset, tmp, *extra) -> list:
    return [
        command,
        "--dataset",
        dataset,
        "--epochs",
        "1",
        "--quiet",
        "--output-dir",
        tmp / "out",
        "--data-dir",
        tmp / "tfds",
        *extra,
    ]


def _folders(*paths: Path) -> Path:
    for path in paths:
        path.mkdir(parents=True)
    return paths[0].parent


def _truncated_png(tmp) -> bytes:
    """A PNG whose header reads but whose pixel data is cut off."""
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp / "whole.png")
    data = (tmp / "whole.png").read_bytes()
    return data[: len(data) // 2]


def _truncated_jpeg(tmp) -> bytes:
    """A JPEG whose header (and EXIF) read but whose scan data is cut off."""
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp / "whole.jpg", quality=95)
    data = (tmp / "whole.jpg").read_bytes()
    return data[: len(data) * 2 // 3]


def _split_folders(tmp, kind: str, *splits: tuple[str, tuple[str, ...]]) -> Path:
    """`tmp/data/<split>/<class>/` folders of 6 images or texts each."""
    for split, classes in splits:
        if kind == "image":
            write_png_folder(
                tmp / "data" / split, dict.fromkeys(classes, 6), (8, 8), seed=len(split)
            )
            continue
        for name in classes:
            for i in range(6):
                _write(tmp / "data" / split / name / f"{i}.txt", f"{name} {split} review {i}")
    return tmp / "data"


def _layout(tmp, kind: str, *splits) -> list:
    command = "image-classify" if kind == "image" else "sentiment"
    return _train(
        command, _split_folders(tmp, kind, *splits), tmp, *SMALL_TEXT[: 6 * (kind == "text")]
    )


def _copied_class(tmp) -> Path:
    root = write_png_folder(tmp / "imgs", {"a": 6}, size=(8, 8))
    shutil.copytree(root / "a", root / "b")
    return root


def _linked_loop(tmp) -> Path:
    root = write_png_folder(tmp / "imgs", {"a": 8, "b": 8}, size=(8, 8))
    (root / "a" / "loop").symlink_to(root)
    return root


def _copied_across_classes(tmp) -> Path:
    root = write_png_folder(tmp / "imgs", {"a": 8, "b": 8}, size=(8, 8))
    shutil.copy(root / "a" / "0.png", root / "b" / "also_b.png")
    return root


def _reviews_in(codec: str) -> bytes:
    """The tiny reviews CSV in `codec` (`"utf-16"` writes a byte-order mark)."""
    return _reviews().to_csv(index=False).encode(codec)


def _image(tmp, *extra) -> list:
    return _train("image-classify", "digits", tmp, *extra)


def _regress_csv(tmp, text: str, *extra) -> list:
    return _train("regress", _write(tmp / "table.csv", text), tmp, *extra)


def _classes_csv(tmp, text: str, *extra) -> list:
    return _train("table-classify", _write(tmp / "table.csv", text), tmp, *extra)


def _nothing_written(tmp, result) -> None:
    assert not (tmp / "out" / "image-classify").exists()


def _tune(tmp, *extra) -> list:
    """`tfapps tune regress` on a 30-row table."""
    return ["tune", *_regress_csv(tmp, "a,b,y\n" + ROWS, "--target", "y", *extra)]


def _no_search_written(tmp, result) -> None:
    assert not (tmp / "out" / "regress").exists()


def _blocker_untouched(tmp, result) -> None:
    assert (tmp / "file").read_text() == "I am a file, not a directory"


def _truncated_copy(run_dir: Path, tmp: Path) -> Path:
    copy = Path(shutil.copytree(run_dir, tmp / "copy"))
    pb = copy / "saved_model" / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[: pb.stat().st_size // 3])
    return copy


def _fake_run_with_corrupt_model(tmp) -> Path:
    _write(tmp / "run" / "run.json", '{"task": "sentiment", "status": "complete"}')
    _write(tmp / "run" / "saved_model" / "saved_model.pb", b"\x00garbage")
    return tmp / "run"


OPTION_VALUES = [
    ("--epochs", "0"),
    ("--validation-split", "1.5"),
    ("--validation-split", "0"),
    ("--validation-split", "1"),
    ("--batch-size", "0"),
    ("--filters", "32,abc"),
    ("--image-size", "28"),
    ("--precision", "float8"),
    ("--checkpoint-seconds", "-1"),
    ("--start-from-epoch", "-2"),
    ("--image-size", "0x0"),
    ("--resize", "squash"),
    ("--backbone", "resnet50"),
    ("--fine-tune-layers", "0"),
    ("--fine-tune-epochs", "-1"),
    ("--fine-tune-learning-rate", "0"),
]

CASES = [
    # image-classify
    Case(
        "image: unknown dataset",
        lambda t, r: _train("image-classify", "not_a_dataset", t),
        fragments=("'not_a_dataset'", "digits", "mnist", "root/<class>"),
        after=_nothing_written,
    ),
    Case(
        "image: missing path",
        lambda t, r: _train("image-classify", t / "no/such", t),
        fragments=("does not exist", "no/such"),
    ),
    Case(
        "image: empty folder",
        lambda t, r: _train(
            "image-classify", _folders(t / "empty" / "cats", t / "empty" / "dogs"), t
        ),
        fragments=("No images", "empty"),
    ),
    Case(
        "image: class folder with files but no image",
        lambda t, r: _train(
            "image-classify",
            write_png_folder(t / "imgs", {"a": 4})
            and _write(t / "imgs" / "cats" / "notes.txt", "no images").parents[1],
            t,
        ),
        fragments=("cats", "holds 1 file but no readable image", "notes.txt"),
    ),
    Case(
        "image: a class whose only image is truncated",
        lambda t, r: _train(
            "image-classify",
            write_png_folder(t / "imgs", {"a": 4})
            and _write(t / "imgs" / "b" / "cut.png", _truncated_png(t)).parents[1],
            t,
        ),
        fragments=("imgs/b", "no readable image", "cut.png"),
    ),
    Case(
        "image: a class whose only JPEG is cut short after its header",
        lambda t, r: _train(
            "image-classify",
            write_png_folder(t / "imgs", {"a": 4})
            and _write(t / "imgs" / "b" / "cut.jpg", _truncated_jpeg(t)).parents[1],
            t,
        ),
        fragments=("imgs/b", "no readable image", "truncated or corrupt", "cut.jpg"),
    ),
    Case(
        "image: a single class",
        lambda t, r: _train("image-classify", write_png_folder(t / "one", {"only": 5}), t),
        fragments=("1 class", "'only'", "at least 2"),
    ),
    Case(
        "image: corrupt image (skipped)",
        lambda t, r: _train(
            "image-classify",
            _image_folder_with(t, "broken.png", b"\x89PNG\r\n\x1a\n not really a png"),
            t,
        ),
        refused=False,
        warns=("skipped 1 file", "broken.png"),
    ),
    Case(
        "image: truncated image (skipped)",
        lambda t, r: _train(
            "image-classify", _image_folder_with(t, "cut.png", _truncated_png(t)), t
        ),
        refused=False,
        warns=("skipped 1 file", "truncated or corrupt", "cut.png"),
    ),
    Case(
        "image: 0-byte image (skipped)",
        lambda t, r: _train("image-classify", _image_folder_with(t, "empty.png", b""), t),
        refused=False,
        warns=("an empty file", "empty.png"),
    ),
    Case(
        "image: very large image, 40000x40000 header (skipped)",
        lambda t, r: _train(
            "image-classify", _image_folder_with(t, "huge.png", _png_claiming(40000, 40000)), t
        ),
        refused=False,
        warns=("decompression-bomb limit", "huge.png"),
    ),
    Case(
        "image: path with spaces",
        lambda t, r: _train(
            "image-classify", write_png_folder(t / "my images", {"a": 6, "b": 6}, size=(8, 8)), t
        ),
        refused=False,
    ),
    Case(
        "image: --backbone-weights missing",
        lambda t, r: _image(
            t, "--backbone", "mobilenet_v3_small", "--backbone-weights", t / "weights.h5"
        ),
        fragments=("--backbone-weights", "{tmp}/weights.h5: no such file"),
        after=_nothing_written,
    ),
    Case(
        "image: --backbone-weights without --backbone",
        lambda t, r: _image(t, "--backbone-weights", _write(t / "weights.h5", b"")),
        fragments=("--backbone-weights", "--backbone NAME", "automatic"),
        after=_nothing_written,
    ),
    Case(
        "image: --backbone with --architecture dense",
        lambda t, r: _image(t, "--backbone", "efficientnet_b0", "--architecture", "dense"),
        fragments=("--backbone", "--architecture dense", "efficientnet_b0"),
    ),
    Case(
        "image: split folders beside class folders",
        lambda t, r: _layout(
            t, "image", ("train", ("a", "b")), ("test", ("a", "b")), (".", ("c",))
        ),
        fragments=("holds split folders (test, train) beside other folders (c)",),
    ),
    Case(
        "image: class folders that hold split folders",
        lambda t, r: _layout(t, "image", ("cats/train", ("x",)), ("dogs/test", ("x",))),
        fragments=("cats holds split folders (train)", "root/<split>/<class>"),
    ),
    Case(
        "image: two folders for one split",
        lambda t, r: _layout(t, "image", ("train", ("a", "b")), ("Training", ("a", "b"))),
        fragments=("two train folders, Training and train",),
    ),
    Case(
        "image: split folders without a train folder",
        lambda t, r: _layout(t, "image", ("val", ("a", "b")), ("test", ("a", "b"))),
        fragments=("no train folder",),
    ),
    Case(
        "image: a test class that train lacks",
        lambda t, r: _layout(t, "image", ("Training", ("a", "b")), ("Testing", ("a", "c"))),
        fragments=("class folder 'c' that the train folder lacks", "['a', 'b']"),
    ),
    Case(
        "image: loose images, no class folder",
        lambda t, r: _train(
            "image-classify", write_png_folder(t / "imgs", {"a": 4}, size=(8, 8)) / "a", t
        ),
        fragments=("No images found", "4 files directly in it"),
    ),
    Case(
        "image: a class made only of copies of another's images",
        lambda t, r: _train("image-classify", _copied_class(t), t),
        fragments=("Every image of class 'a' has a copy under another class",),
    ),
    Case(
        "image: Kaggle-style Training/ and Testing/ folders",
        lambda t, r: _layout(t, "image", ("Training", ("a", "b")), ("Testing", ("a", "b"))),
        refused=False,
    ),
    Case(
        "image: a link back to a folder above (left out)",
        lambda t, r: _train("image-classify", _linked_loop(t), t),
        refused=False,
        warns=("1 link back to a folder above it (a loop)",),
    ),
    Case(
        "image: one image under two classes (left out)",
        lambda t, r: _train("image-classify", _copied_across_classes(t), t),
        refused=False,
        warns=("left out 2 images whose copies carry different labels", "also_b.png (b)"),
    ),
    *[
        Case(
            f"image: {option} {value}",
            lambda t, r, option=option, value=value: _image(t, option, value),
            fragments=(option, value.split(",")[-1]),
            click_usage=option in ("--filters", "--precision", "--resize", "--backbone"),
        )
        for option, value in OPTION_VALUES
    ],
    # sentiment
    Case(
        "text: empty CSV",
        lambda t, r: _train("sentiment", _write(t / "weird.csv", b""), t),
        fragments=("weird.csv", "is empty"),
    ),
    Case(
        "text: header-only CSV",
        lambda t, r: _train("sentiment", _write(t / "h.csv", "text,label\n"), t),
        fragments=("no usable rows",),
    ),
    Case(
        "text: binary file named .csv",
        lambda t, r: _train("sentiment", _write(t / "weird.csv", bytes(range(256)) * 8), t),
        fragments=("weird.csv", "not a text file"),
    ),
    Case(
        "text: random bytes named .csv",
        lambda t, r: _train(
            "sentiment", _write(t / "r.csv", np.random.default_rng(0).bytes(4096)), t
        ),
        fragments=("r.csv",),
    ),
    Case(
        "text: Latin-1 file",
        lambda t, r: _train(
            "sentiment",
            _write(t / "weird.csv", "text,label\ncaf\xe9 cr\xe8me,pos\n".encode("latin-1")),
            t,
        ),
        fragments=("weird.csv", "not UTF-8"),
    ),
    Case(
        "text: UTF-16 CSV without a byte-order mark",
        lambda t, r: _train("sentiment", _write(t / "u.csv", _reviews_in("utf-16-le")), t),
        fragments=("u.csv", "looks like UTF-16 LE text without a byte-order mark", "as UTF-8"),
    ),
    Case(
        "text: UTF-16 CSV with a byte-order mark (read in UTF-16)",
        lambda t, r: _train(
            "sentiment", _write(t / "u.csv", _reviews_in("utf-16")), t, *SMALL_TEXT
        ),
        refused=False,
    ),
    Case(
        "text: CSV without the text column",
        lambda t, r: _train("sentiment", _write(t / "r.csv", "review,label\ngood,pos\n"), t),
        fragments=("no column 'text'", "['review', 'label']", "--text-column"),
    ),
    Case(
        "text: nothing usable left",
        lambda t, r: _train(
            "sentiment", _write(t / "r.csv", 'text,label\n"",pos\n"  ",neg\nhello,\n'), t
        ),
        fragments=("no usable rows", "all 3 rows"),
    ),
    Case(
        "text: a single label class",
        lambda t, r: _train(
            "sentiment", _write(t / "r.csv", "text,label\ngood,pos\nfine,pos\ngreat,pos\n"), t
        ),
        fragments=("single label class", "'pos'"),
    ),
    Case(
        "text: unknown dataset",
        lambda t, r: _train("sentiment", "imdb_typo", t),
        fragments=("'imdb_typo'", "movie_reviews", "imdb_reviews", ".txt"),
    ),
    Case(
        "text: a 1 MB review",
        lambda t, r: _train(
            "sentiment",
            _write(
                t / "big.csv",
                _reviews()
                .assign(text=lambda d: d["text"].where(d.index != 0, "word " * 200_000))
                .to_csv(index=False),
            ),
            t,
            *SMALL_TEXT,
        ),
        refused=False,
    ),
    Case(
        "text: a test label that train lacks",
        lambda t, r: _layout(t, "text", ("train", ("neg", "pos")), ("test", ("neg", "meh"))),
        fragments=("class folder 'meh' that the train folder lacks",),
    ),
    Case(
        "text: split folders beside label folders",
        lambda t, r: _layout(t, "text", ("train", ("neg", "pos")), (".", ("other",))),
        fragments=("holds split folders (train) beside other folders (other)",),
    ),
    Case(
        "text: a label folder of binary files only",
        lambda t, r: _train(
            "sentiment",
            _split_folders(t, "text", (".", ("pos",)))
            and _write(t / "data" / "neg" / "photo.jpg", b"\xff\xd8\x00\x00").parents[1],
            t,
        ),
        fragments=("neg holds files but no text", "binary"),
    ),
    Case(
        "text: files without a suffix or with .TXT",
        lambda t, r: _train(
            "sentiment",
            _split_folders(t, "text", (".", ("neg", "pos")))
            and [
                p.rename(p.with_suffix("" if "neg" in str(p) else ".TXT"))
                for p in sorted((t / "data").rglob("*.txt"))
            ]
            and t / "data",
            t,
            *SMALL_TEXT,
        ),
        refused=False,
    ),
    *[
        Case(
            f"text: {option} 0",
            lambda t, r, option=option: _train("sentiment", "movie_reviews", t, option, "0"),
            fragments=(option, "Received: 0"),
        )
        for option in ("--max-tokens", "--sequence-length")
    ],
    # regress
    Case(
        "table: empty CSV",
        lambda t, r: _train("regress", _write(t / "e.csv", b""), t, "--target", "y"),
        fragments=("empty",),
    ),
    Case(
        "table: header-only CSV",
        lambda t, r: _regress_csv(t, "a,b,y\n", "--target", "y"),
        fragments=("no data rows",),
    ),
    Case(
        "table: random bytes named .csv",
        lambda t, r: _train(
            "regress", _write(t / "r.csv", np.random.default_rng(1).bytes(4096)), t, "--target", "y"
        ),
        fragments=("r.csv",),
    ),
    Case(
        "table: UTF-16 CSV without a byte-order mark",
        lambda t, r: _train(
            "regress",
            _write(t / "u.csv", ("a,b,y\n" + ROWS).encode("utf-16-be")),
            t,
            "--target",
            "y",
        ),
        fragments=("u.csv", "looks like UTF-16 BE text without a byte-order mark", "as UTF-8"),
    ),
    Case(
        "table: Excel's Unicode text (UTF-16 with a byte-order mark, tab-separated)",
        lambda t, r: _train(
            "regress",
            _write(t / "u.txt", ("a,b,y\n" + ROWS).replace(",", "\t").encode("utf-16")),
            t,
            "--target",
            "y",
        ),
        refused=False,
    ),
    Case(
        "table: no --target",
        lambda t, r: _regress_csv(t, "a,b,y\n" + ROWS),
        fragments=("--target is required", "['a', 'b', 'y']"),
    ),
    Case(
        "table: --target not a column",
        lambda t, r: _regress_csv(t, "a,b,y\n" + ROWS, "--target", "price"),
        fragments=("'price'", "['a', 'b', 'y']"),
    ),
    Case(
        "table: --drop not a column",
        lambda t, r: _regress_csv(t, "a,b,y\n" + ROWS, "--target", "y", "--drop", "nope"),
        fragments=("'nope'",),
    ),
    Case(
        "table: target not numeric",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + ROWS.replace(",0.0\n", ",cheap\n"), "--target", "y"
        ),
        fragments=("not numeric", "'cheap'"),
    ),
    Case(
        "table: constant target",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + "".join(f"{i},{i},7\n" for i in range(30)), "--target", "y"
        ),
        fragments=("constant",),
    ),
    Case(
        "table: empty target",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + "".join(f"{i},{i},\n" for i in range(30)), "--target", "y"
        ),
        fragments=("no values",),
    ),
    Case(
        "table: empty feature column (ignored)",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + "".join(f"{i},,{i}\n" for i in range(30)), "--target", "y"
        ),
        refused=False,
        warns=("column 'b' ignored", "no value"),
    ),
    Case(
        "table: no usable feature column",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + "".join(f"7,,{i}\n" for i in range(30)), "--target", "y"
        ),
        fragments=("no usable feature column", "a ignored (a single value", "b ignored"),
    ),
    Case(
        "table: inf in a feature (rows counted)",
        lambda t, r: _regress_csv(t, "a,b,y\n" + ROWS + "inf,1,3\n", "--target", "y"),
        fragments=("'a'", "infinity", "1 rows"),
    ),
    Case(
        "table: inf in a feature",
        lambda t, r: _train(
            "regress",
            _write(
                t / "inf.csv",
                _table().assign(x=lambda d: d["x"].where(d.index != 3, np.inf)).to_csv(index=False),
            ),
            t,
            "--target",
            "y",
        ),
        fragments=("'x'", "infinity"),
    ),
    Case(
        "table: rows written twice (kept in one split)",
        lambda t, r: _regress_csv(t, "a,b,y\n" + ROWS + ROWS[:200], "--target", "y"),
        refused=False,
        warns=("copies of", "rows written more than once"),
    ),
    Case(
        "table: --hidden-units 64,0",
        lambda t, r: _regress_csv(t, "a,b,y\n" + ROWS, "--target", "y", "--hidden-units", "64,0"),
        fragments=("--hidden-units",),
    ),
    Case(
        "table: NaN in a feature (imputed)",
        lambda t, r: _train(
            "regress",
            _write(
                t / "nan.csv",
                _table().assign(x=lambda d: d["x"].where(d.index % 5 != 0)).to_csv(index=False),
            ),
            t,
            "--target",
            "y",
        ),
        refused=False,
    ),
    Case(
        "table: non-ASCII column names",
        lambda t, r: _train(
            "regress",
            _write(
                t / "ü.csv",
                _table().rename(columns={"x": "größe m²", "kind": "種類"}).to_csv(index=False),
            ),
            t,
            "--target",
            "y",
        ),
        refused=False,
    ),
    Case(
        "table: a 0/1 target for regress (warns)",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)), "--target", "y"
        ),
        refused=False,
        warns=("only 2 distinct values (0, 1)", "table-classify"),
    ),
    # table-classify
    Case(
        "table-classify: a continuous target",
        lambda t, r: _classes_csv(t, "a,b,y\n" + ROWS, "--target", "y"),
        fragments=("'y'", "30 distinct numbers", "`tfapps regress`"),
    ),
    Case(
        "table-classify: a target with one class",
        lambda t, r: _classes_csv(
            t, "a,b,y\n" + "".join(f"{i},{i % 3},yes\n" for i in range(30)), "--target", "y"
        ),
        fragments=("'y'", "single class ('yes')", "at least 2 classes"),
    ),
    Case(
        "table-classify: an ID as the target",
        lambda t, r: _classes_csv(
            t, "a,b,y\n" + "".join(f"{i},{i % 3},id{i}\n" for i in range(80)), "--target", "y"
        ),
        fragments=("'y'", "80 distinct values in 80 rows"),
    ),
    Case(
        "table-classify: no --target",
        lambda t, r: _classes_csv(t, "a,b,y\n" + ROWS),
        fragments=("--target is required", "['a', 'b', 'y']"),
    ),
    Case(
        "table-classify: columns of few values, rows alike under two classes (sex, class)",
        lambda t, r: _classes_csv(
            t,
            "sex,pclass,survived\n"
            + "".join(f"{('male', 'female')[i % 2]},{i % 3 + 1},{i % 5 % 2}\n" for i in range(60)),
            "--target",
            "survived",
        ),
        refused=False,
    ),
    Case(
        "table-classify: every row of a class copied under another class",
        lambda t, r: _classes_csv(
            t,
            "a,b,y\n"
            + "".join(f"{i * 2.5},{i % 3},yes\n" for i in range(30))
            + "".join(f"{i * 2.5},{i % 3},no\n" for i in range(10)),
            "--target",
            "y",
        ),
        fragments=("class 'no'", "row 31 = row 1", "left out as copies with other labels"),
    ),
    Case(
        "table-classify: a 0/1 target, gaps in a feature",
        lambda t, r: _classes_csv(
            t,
            "a,b,c,y\n"  # c tells the rows apart: no two rows of the same features
            + "".join(
                f"{'' if i % 4 else i},{'Red' if i % 3 else ' red'},{i},{i % 2}\n"
                for i in range(40)
            ),
            "--target",
            "y",
        ),
        refused=False,
    ),
    Case(
        "table: --target-transform log with a target below -1",
        lambda t, r: _regress_csv(
            t,
            "a,b,y\n" + ROWS + "3,1,-5\n",
            "--target",
            "y",
            "--target-transform",
            "log",
        ),
        fragments=("--target-transform log", "above -1", "-5"),
    ),
    Case(
        "table: --target-transform logarithm",
        lambda t, r: _regress_csv(
            t, "a,b,y\n" + ROWS, "--target", "y", "--target-transform", "logarithm"
        ),
        fragments=("--target-transform", "logarithm"),
        click_usage=True,
    ),
    Case(
        "table: two targets typed with three extra zeros (named)",
        lambda t, r: _regress_csv(t, "a,b,y\n" + PRICES, "--target", "y"),
        refused=False,
        warns=("2 values far from the rest", "table.csv:4 (", "table.csv:21 ("),
    ),
    Case(
        "table: a target spanning six orders of magnitude (fitted as log1p)",
        lambda t, r: _regress_csv(t, "a,b,y\n" + SPREAD, "--target", "y"),
        refused=False,
    ),
    Case(
        "table: codes with leading zeros read as numbers (warned)",
        lambda t, r: _regress_csv(t, "zip,b,y\n" + CODES, "--target", "y"),
        refused=False,
        warns=("column 'zip' is read as numbers", "begin with a 0", "--categorical zip"),
    ),
    Case(
        "table: one number written two ways in a category (warned)",
        lambda t, r: _regress_csv(t, "zip,b,y\n" + CODES, "--target", "y", "--categorical", "zip"),
        refused=False,
        warns=("column 'zip' keeps its values as written", "'00501' and '501'"),
    ),
    Case(
        "text: 300 classes, half too small (one warning line)",
        lambda t, r: _train(
            "sentiment",
            _write(t / "many.csv", "text,label\n" + MANY_CLASSES),
            t,
            *SMALL_TEXT,
        ),
        refused=False,
        warns=("150 classes have too few texts", "and 145 more"),
    ),
    # predict
    Case(
        "predict: not a run directory",
        lambda t, r: ["predict", t, "x"],
        fragments=("is not a tfapps run directory", "{tmp}"),
    ),
    Case(
        "predict: run.json that does not parse",
        lambda t, r: ["predict", _write(t / "run" / "run.json", "{oops").parent, "x"],
        fragments=("Cannot parse", "run.json"),
    ),
    Case(
        "predict: corrupt SavedModel",
        lambda t, r: ["predict", _fake_run_with_corrupt_model(t), "x"],
        fragments=("Cannot load the SavedModel", "saved_model"),
    ),
    Case(
        "predict: --output neither .csv nor .json",
        lambda t, r: ["predict", t, "x", "--output", t / "out.xlsx"],
        fragments=("--output", "out.xlsx"),
    ),
    Case(
        "predict: truncated SavedModel",
        lambda t, r: ["predict", _truncated_copy(r["text"], t), "hello"],
        fragments=("Cannot load the SavedModel",),
        needs_runs=True,
    ),
    Case(
        "predict: text into an image model",
        lambda t, r: ["predict", r["image"], "a film"],
        fragments=("'a film' is not an image file or folder",),
        needs_runs=True,
    ),
    Case(
        "predict: image into a text model",
        lambda t, r: ["predict", r["text"], _write(t / "x.png", _png_claiming(8, 8))],
        fragments=("x.png", "not a text file tfapps reads", "binary"),
        needs_runs=True,
    ),
    Case(
        "predict: UTF-16 text file without a byte-order mark",
        lambda t, r: ["predict", r["text"], _write(t / "u.txt", "a fine film".encode("utf-16-le"))],
        fragments=("u.txt", "UTF-16 LE without a byte-order mark", "UTF-16 or UTF-32 with a"),
        needs_runs=True,
    ),
    Case(
        "predict: CSV missing a column",
        lambda t, r: ["predict", r["table"], _write(t / "rows.csv", "kind\na\n")],
        fragments=("lacks the column(s) ['x']",),
        needs_runs=True,
    ),
    Case(
        "predict: CSV missing a column (table-classify)",
        lambda t, r: ["predict", r["classes"], _write(t / "rows.csv", "x,kind\n1.5,a\n")],
        fragments=("lacks the column(s) ['city']",),
        needs_runs=True,
    ),
    Case(
        "predict: a mistyped .txt file for a text model",
        lambda t, r: ["predict", r["text"], t / "reviws.txt"],
        fragments=("reviws.txt", "looks like a file or folder but does not exist"),
        needs_runs=True,
    ),
    Case(
        "predict: a missing folder for a text model",
        lambda t, r: ["predict", r["text"], "new_reviews/"],
        fragments=("'new_reviews/'", "does not exist"),
        needs_runs=True,
    ),
    Case(
        "predict: a missing CSV for a table model",
        lambda t, r: ["predict", r["table"], t / "rows.csv"],
        fragments=("rows.csv", "does not exist", "takes CSV files"),
        needs_runs=True,
    ),
    Case(
        "predict: 0-byte image",
        lambda t, r: ["predict", r["image"], _write(t / "z.png", b"")],
        fragments=("z.png",),
        needs_runs=True,
    ),
    Case(
        "predict: a 1 MB text",
        lambda t, r: ["predict", r["text"], "word " * 200_000],
        refused=False,
        needs_runs=True,
    ),
    # evaluate, report, runs, train-all
    Case(
        "evaluate: not a run directory",
        lambda t, r: ["evaluate", t, "--dataset", "digits"],
        fragments=("not a tfapps run directory",),
    ),
    Case(
        "evaluate: data with other columns",
        lambda t, r: [
            "evaluate",
            r["table"],
            "--dataset",
            _write(t / "o.csv", "z,y\n1,2\n3,4\n5,6\n7,9\n"),
        ],
        fragments=("the model takes ['kind', 'x']",),
        needs_runs=True,
    ),
    Case(
        "report: missing directory",
        lambda t, r: ["report", t / "none"],
        fragments=("does not exist",),
    ),
    Case(
        "runs: missing directory", lambda t, r: ["runs", t / "none"], fragments=("does not exist",)
    ),
    Case(
        "serve: a --name that cannot be part of a URL",
        lambda t, r: ["serve", r["text"], "--name", "reviews:v2"],
        fragments=("--name", "'reviews:v2'", "'/' or ':'"),
        needs_runs=True,
    ),
    Case(
        "train-all: malformed --datasets",
        lambda t, r: ["train-all", "--datasets", "pictures=mnist", "--output-dir", t / "o"],
        fragments=("--datasets", "'pictures=mnist'"),
    ),
    Case(
        "tune: --time-budget of another form",
        lambda t, r: _tune(t, "--time-budget", "5 minutes"),
        fragments=("--time-budget", "(300, 5m, 1h)", "'5 minutes'"),
        after=_no_search_written,
    ),
    Case(
        "tune: --time-budget 0",
        lambda t, r: _tune(t, "--time-budget", "0s"),
        fragments=("--time-budget", "above 0", "'0s'"),
    ),
    Case(
        "tune: --space without NAME=",
        lambda t, r: _tune(t, "--space", "dropout"),
        fragments=("--space", "NAME=VALUE, NAME=LOW..HIGH or NAME=A,B,C", "'dropout'"),
    ),
    Case(
        "tune: --space range out of order",
        lambda t, r: _tune(t, "--space", "dropout=0.5..0.1"),
        fragments=("--space", "LOW <= HIGH", "'dropout=0.5..0.1'"),
    ),
    Case(
        "tune: --space unknown knob",
        lambda t, r: _tune(t, "--space", "dropuot=0.2"),
        fragments=("--space", "a knob of regress", "dropout: 0..0.5", "'dropuot=0.2'"),
        after=_no_search_written,
    ),
    Case(
        "tune: --space range for a named choice",
        lambda t, r: _tune(t, "--space", "loss=0..1"),
        fragments=("--space", "loss taking one of mae,mse,huber", "'loss=0..1'"),
    ),
    Case(
        "tune: --space value the option refuses",
        lambda t, r: _tune(t, "--space", "dropout=0.2..1.5"),
        fragments=("--space: dropout=0.2..1.5 gives dropout 1.5", "--dropout", "[0, 1)"),
        after=_no_search_written,
    ),
    Case(
        "tune: more --folds than examples",
        lambda t, r: _tune(t, "--folds", "50"),
        fragments=("--folds", "at most 24", "Received: 50"),
        after=_no_search_written,
    ),
    Case(
        "tune: --strategy multi-worker",
        lambda t, r: _tune(t, "--strategy", "multi-worker"),
        fragments=("--strategy", "'multi-worker'"),
    ),
    Case(
        "any: output dir is a file",
        lambda t, r: [
            "image-classify",
            "--quiet",
            "--output-dir",
            _write(t / "file", "I am a file, not a directory") / "sub",
        ],
        fragments=("Cannot write to --output-dir", "file"),
        after=_blocker_untouched,
    ),
]


def _params():
    for case in CASES:
        slow = case.needs_runs or not case.refused
        yield pytest.param(case, id=case.name, marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("case", _params())
def test_bad_input_matrix(case, run_cli, tmp_path, request):
    runs = request.getfixturevalue("tiny_runs") if case.needs_runs else None
    result = run_cli(*case.build(tmp_path, runs))
    assert "Traceback" not in result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    for fragment in case.warns:
        assert any(fragment in line for line in warnings), result.stderr
    if not case.refused:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == case.exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if case.click_usage:
        assert lines[0].startswith("Usage: ") and lines[1].startswith("Try "), result.stderr
        lines = lines[2:]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in case.fragments:
        assert fragment.replace("{tmp}", str(tmp_path)) in lines[0], lines[0]
    if case.after is not None:
        case.after(tmp_path, result)


def test_debug_shows_the_traceback(run_cli, tmp_path):
    result = run_cli(*_train("image-classify", "not_a_dataset", tmp_path, "--debug"))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_unexpected_failure_is_one_line_with_exit_status_1(run_cli, tmp_path, monkeypatch):
    import tfapps.api

    def explode(config, resume=None):
        raise RuntimeError("disk on fire\nsecond line of detail")

    monkeypatch.setattr(tfapps.api, "train", explode)
    result = run_cli(*_image(tmp_path))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "RuntimeError: disk on fire" in lines[0] and "--debug" in lines[0]
