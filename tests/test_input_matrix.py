"""The bad-input matrix across every command (docs/RELIABILITY.md lists it).

Each case builds its input in a temporary folder and runs one `tfapps` command in-process.
A case that should be refused ends with exit status 1 or 2 and one `Error:` line on stderr
naming the value; a case that is odd but valid (non-ASCII column names, a path with spaces,
a 1 MB text, missing feature values) must succeed. No case may print a traceback.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_png_folder

SMALL_TEXT = ["--max-tokens", "200", "--sequence-length", "20", "--embedding-dim", "8"]


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


def _table(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows)
    return pd.DataFrame({"x": x, "kind": rng.choice(["a", "b"], rows), "y": 2 * x + 1})


def _reviews(rows: int = 40) -> pd.DataFrame:
    words = {"pos": "great fun loved", "neg": "dull awful boring"}
    return pd.DataFrame(
        {
            "text": [words["pos" if i % 2 else "neg"] for i in range(rows)],
            "label": ["pos" if i % 2 else "neg" for i in range(rows)],
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny finished run per task, for the predict and evaluate cases."""
    from tfapps.api import train
    from tfapps.config import ImageConfig, RegressConfig, TextConfig

    root = tmp_path_factory.mktemp("trained")
    images = write_png_folder(root / "images", {"a": 12, "b": 12}, size=(8, 8))
    (root / "reviews.csv").write_text(_reviews().to_csv(index=False))
    _table().to_csv(root / "table.csv", index=False)
    common = {"epochs": 1, "quiet": True, "output_dir": str(root / "runs")}
    return {
        "image": train(ImageConfig(dataset=str(images), **common)).run_dir,
        "text": train(
            TextConfig(
                dataset=str(root / "reviews.csv"),
                max_tokens=200,
                sequence_length=20,
                embedding_dim=8,
                **common,
            )
        ).run_dir,
        "table": train(
            RegressConfig(dataset=str(root / "table.csv"), target="y", **common)
        ).run_dir,
    }


@dataclass
class Case:
    """One row of the matrix: how to build the input, and what must happen."""

    name: str
    build: object  # (tmp_path, trained runs) -> CLI arguments
    refused: bool = True
    fragments: tuple[str, ...] = ()


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
        *extra,
    ]


CASES = [
    # image-classify
    Case(
        "image: unknown dataset",
        lambda t, r: _train("image-classify", "mnistt", t),
        fragments=("'mnistt'", "digits"),
    ),
    Case(
        "image: missing path",
        lambda t, r: _train("image-classify", t / "no/such", t),
        fragments=("does not exist",),
    ),
    Case(
        "image: 0-byte image",
        lambda t, r: _train("image-classify", _image_folder_with(t, "empty.png", b""), t),
        fragments=("empty.png",),
    ),
    Case(
        "image: very large image (40000x40000 header)",
        lambda t, r: _train(
            "image-classify", _image_folder_with(t, "huge.png", _png_claiming(40000, 40000)), t
        ),
        fragments=("huge.png", "exceeds limit"),
    ),
    Case(
        "image: path with spaces",
        lambda t, r: _train(
            "image-classify", write_png_folder(t / "my images", {"a": 6, "b": 6}, size=(8, 8)), t
        ),
        refused=False,
    ),
    Case(
        "image: --validation-split 1",
        lambda t, r: _train("image-classify", "digits", t, "--validation-split", "1"),
        fragments=("--validation-split",),
    ),
    # sentiment
    Case(
        "text: empty CSV",
        lambda t, r: _train("sentiment", _write(t / "e.csv", b""), t),
        fragments=("e.csv", "empty"),
    ),
    Case(
        "text: header-only CSV",
        lambda t, r: _train("sentiment", _write(t / "h.csv", "text,label\n"), t),
        fragments=("no usable rows",),
    ),
    Case(
        "text: random bytes named .csv",
        lambda t, r: _train(
            "sentiment", _write(t / "r.csv", np.random.default_rng(0).bytes(4096)), t
        ),
        fragments=("r.csv",),
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
        "text: --max-tokens 0",
        lambda t, r: _train("sentiment", "movie_reviews", t, "--max-tokens", "0"),
        fragments=("--max-tokens", "Received: 0"),
    ),
    # regress
    Case(
        "table: empty CSV",
        lambda t, r: _train("regress", _write(t / "e.csv", b""), t, "--target", "y"),
        fragments=("empty",),
    ),
    Case(
        "table: header-only CSV",
        lambda t, r: _train("regress", _write(t / "h.csv", "x,y\n"), t, "--target", "y"),
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
        "table: --target not a column",
        lambda t, r: _train(
            "regress", _write(t / "t.csv", _table().to_csv(index=False)), t, "--target", "price"
        ),
        fragments=("'price'", "['x', 'kind', 'y']"),
    ),
    # predict
    Case(
        "predict: not a run directory",
        lambda t, r: ["predict", t, "x"],
        fragments=("not a tfapps run directory",),
    ),
    Case(
        "predict: truncated SavedModel",
        lambda t, r: ["predict", _truncated_copy(r["text"], t), "hello"],
        fragments=("Cannot load the SavedModel",),
    ),
    Case(
        "predict: run.json that does not parse",
        lambda t, r: ["predict", _write(t / "run" / "run.json", "{oops").parent, "x"],
        fragments=("Cannot parse", "run.json"),
    ),
    Case(
        "predict: text into an image model",
        lambda t, r: ["predict", r["image"], "a film"],
        fragments=("'a film' is not an image file or folder",),
    ),
    Case(
        "predict: image into a text model",
        lambda t, r: ["predict", r["text"], _write(t / "x.png", _png_claiming(8, 8))],
        fragments=("x.png", "not a UTF-8 text file"),
    ),
    Case(
        "predict: CSV missing a column",
        lambda t, r: ["predict", r["table"], _write(t / "rows.csv", "kind\na\n")],
        fragments=("lacks the column(s) ['x']",),
    ),
    Case(
        "predict: 0-byte image",
        lambda t, r: ["predict", r["image"], _write(t / "z.png", b"")],
        fragments=("z.png",),
    ),
    Case(
        "predict: a 1 MB text",
        lambda t, r: ["predict", r["text"], "word " * 200_000],
        refused=False,
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
        "train-all: malformed --datasets",
        lambda t, r: ["train-all", "--datasets", "pictures=mnist", "--output-dir", t / "o"],
        fragments=("--datasets", "'pictures=mnist'"),
    ),
    Case(
        "any: output dir is a file",
        lambda t, r: ["regress", "--output-dir", _write(t / "file", "x") / "sub"],
        fragments=("Cannot write to --output-dir",),
    ),
]


def _truncated_copy(run_dir: Path, tmp: Path) -> Path:
    import shutil

    copy = Path(shutil.copytree(run_dir, tmp / "copy"))
    pb = copy / "saved_model" / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[: pb.stat().st_size // 3])
    return copy


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_input_matrix(case, trained, run_cli, tmp_path):
    result = run_cli(*case.build(tmp_path, trained))
    assert "Traceback" not in result.output
    if not case.refused:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code in (1, 2), result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in case.fragments:
        assert fragment in errors[0], errors[0]
