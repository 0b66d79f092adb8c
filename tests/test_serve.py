"""`tfapps serve`: TensorFlow Serving's REST API for every task, on a local port.

The servers run in threads of this process on free loopback ports (one with the default
options, one with small limits); every request goes through real HTTP (`http.client`), is
compared with `tfapps predict` on the same inputs, and every kind of bad request is answered
with `{"error": ...}` (never HTTP 500) while the server keeps serving.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import math
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # the runs train, and the server loads their SavedModels


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LIMITS = {"max_batch_size": 8, "max_body_bytes": 20_000, "max_instances": 100}


@contextmanager
def serving(models, options=None):
    """Serves `models` (`serve.create_app`) with uvicorn in a thread on a free port."""
    import uvicorn

    from tfapps import serve

    port = _free_port()
    app = serve.create_app(models, options)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started
    yield {"port": port, "models": {m.name: m for m in models}}
    running.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def server(tiny_runs):
    from tfapps import serve

    runs = [tiny_runs[task] for task in ("image", "text", "table", "ngram", "classes")]
    names = ["image-classify", "sentiment", "regress", "ngram", "table-classify"]
    with serving(serve.load_models(runs, names)) as running:
        yield running


@pytest.fixture(scope="module")
def limited(tiny_runs, wide_run):
    """The text model and the wide table model, with small `LIMITS`."""
    from tfapps import serve
    from tfapps.serving_bodies import ServingOptions

    models = serve.load_models([tiny_runs["text"], wide_run], ["sentiment", "wide"])
    with serving(models, ServingOptions(**LIMITS)) as running:
        yield running


def call(server, method: str, path: str, body=None, raw=None, headers=None):
    """One request on a connection of its own; `raw` bytes are sent as they are, a tuple of
    them in chunks (`Transfer-Encoding: chunked`, no Content-Length)."""
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=60)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    sent = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, payload


def predicted(tiny_runs, task: str, inputs: list[str]) -> np.ndarray:
    """What `tfapps predict` computes for the same inputs (the raw outputs)."""
    from tfapps import predict
    from tfapps.tasks import get_task

    run = predict.load_run(tiny_runs[task])
    _, features = get_task(run.task).read_inputs(run.record, run.input_names, inputs)
    return np.concatenate(
        [run.signature(**batch)["predictions"].numpy() for batch in predict._batches(features, 64)]
    )


def test_status_and_metadata_as_tf_serving_answers_them(server):
    status, body = call(server, "GET", "/v1/models/sentiment")
    assert status == 200
    assert body == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    status, body = call(server, "GET", "/v1/models/image-classify/metadata")
    assert status == 200 and body["model_spec"]["name"] == "image-classify"
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    images = signature["inputs"]["images"]
    assert images["dtype"] == "DT_UINT8"
    assert [d["size"] for d in images["tensor_shape"]["dim"]] == ["-1", "8", "8", "1"]
    assert set(signature["outputs"]) == {"predictions"}
    status, body = call(server, "GET", "/v1/models/regress/versions/1/metadata")
    inputs = body["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert {name: spec["dtype"] for name, spec in inputs.items()} == {
        "x": "DT_FLOAT",
        "kind": "DT_STRING",
    }


@pytest.mark.parametrize(("run", "name"), [("text", "sentiment"), ("ngram", "ngram")])
def test_text_predictions_match_tfapps_predict_in_both_formats(server, tiny_runs, run, name):
    texts = ["great fun loved it", "dull and boring"]
    expected = predicted(tiny_runs, run, texts)
    status, rows = call(server, "POST", f"/v1/models/{name}:predict", {"instances": texts})
    assert status == 200
    np.testing.assert_allclose(rows["predictions"], expected, rtol=1e-5)
    status, columns = call(server, "POST", f"/v1/models/{name}:predict", {"inputs": texts})
    np.testing.assert_allclose(columns["outputs"], expected, rtol=1e-5)
    b64 = {"b64": base64.b64encode(texts[0].encode()).decode()}
    _, encoded = call(
        server,
        "POST",
        f"/v1/models/{name}/versions/1:predict?class_names=true",
        {"signature_name": "serving_default", "instances": [b64]},
    )
    np.testing.assert_allclose(encoded["predictions"], expected[:1], rtol=1e-5)
    assert encoded["classes"][0] in ("neg", "pos") and 0.5 <= encoded["probabilities"][0] <= 1


def test_images_as_arrays_or_any_image_file_match_tfapps_predict(server, tiny_runs, tmp_path):
    photo = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg")  # another size, RGB, JPEG
    expected = predicted(tiny_runs, "image", [str(tmp_path / "photo.jpg")])
    b64 = {"b64": base64.b64encode((tmp_path / "photo.jpg").read_bytes()).decode()}
    status, body = call(server, "POST", "/v1/models/image-classify:predict", {"instances": [b64]})
    assert status == 200
    np.testing.assert_allclose(body["predictions"], expected, rtol=1e-5)
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8, 1).tolist()
    status, body = call(server, "POST", "/v1/models/image-classify:predict", {"inputs": [pixels]})
    assert status == 200 and np.asarray(body["outputs"]).shape == (1, 2)


def test_table_rows_by_input_or_column_name_with_missing_values(server, tiny_runs, tmp_path):
    (tmp_path / "rows.csv").write_text("x,kind\n2.5,a\n,b\n")
    expected = predicted(tiny_runs, "table", [str(tmp_path / "rows.csv")])
    instances = [{"x": 2.5, "kind": "a"}, {"x": None, "kind": "b"}]
    status, body = call(server, "POST", "/v1/models/regress:predict", {"instances": instances})
    assert status == 200
    np.testing.assert_allclose(body["predictions"], expected, rtol=1e-5)
    columnar = {"inputs": {"x": ["2.5", "?"], "kind": ["a", "b"]}}
    status, body = call(server, "POST", "/v1/models/regress:predict", columnar)
    np.testing.assert_allclose(body["outputs"], expected, rtol=1e-5)


def test_table_classes_by_column_name_with_missing_numbers_as_nan(server, tiny_runs, tmp_path):
    (tmp_path / "rows.csv").write_text("x,kind,city\n8.5,a,c1\n,b,nowhere\n")
    expected = predicted(tiny_runs, "classes", [str(tmp_path / "rows.csv")])
    instances = [{"x": 8.5, "kind": "a", "city": "c1"}, {"kind": "b", "city": "nowhere"}]
    classes = ["yes" if p[0] > 0.5 else "no" for p in expected]
    path = "/v1/models/table-classify:predict"
    status, body = call(server, "POST", path, {"instances": instances})
    assert status == 200, body  # two outputs: one object a row, as TF Serving answers
    np.testing.assert_allclose([row["predictions"] for row in body["predictions"]], expected)
    assert [row["classes"] for row in body["predictions"]] == classes
    columnar = {"inputs": {"x": ["8.5", "?"], "kind": ["a", "b"]}}  # city: missing everywhere
    status, body = call(server, "POST", f"{path}?class_names=true", columnar)
    assert status == 200, body
    assert len(body["outputs"]["classes"]) == 2 and len(body["probabilities"]) == 2
    status, body = call(server, "GET", "/v1/models/table-classify/metadata")
    outputs = body["metadata"]["signature_def"]["signature_def"]["serving_default"]["outputs"]
    assert outputs["classes"]["dtype"] == "DT_STRING"
    status, body = call(server, "POST", path, {"instances": [{"x": "many"}]})
    assert status == 400 and "'x'" in body["error"]


@dataclass
class Row:
    """One row of the request matrix (docs/RELIABILITY.md lists it).

    Args:
        name: the case.
        path: the URL path.
        body: JSON to send, raw `bytes`, or a tuple of bytes sent in chunks.
        status: the HTTP status it must be answered with (never 500).
        fragments: texts the `{"error": ...}` message must hold.
        server: `"server"` (default options) or `"limited"` (`LIMITS`).
        method: the HTTP method.
        headers: headers besides `Content-Type: application/json`.
    """

    name: str
    path: str
    body: Any
    status: int
    fragments: tuple[str, ...] = ()
    server: str = "server"
    method: str = "POST"
    headers: dict | None = None


TEXT, IMAGE, TABLE = (f"/v1/models/{n}:predict" for n in ("sentiment", "image-classify", "regress"))
DEEP = b"[" * 900 + b"]" * 900  # as deep as Python's JSON reads
DIGITS_400 = b"1" + b"0" * 400
PIXELS = json.dumps(np.zeros((8, 8, 1), int).tolist()).encode()
PNG = io.BytesIO()
Image.fromarray(np.zeros((8, 8), np.uint8)).save(PNG, "PNG")
FORM = b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\n{}\r\n--b--\r\n'
ROWS = [
    Row(
        "unknown model",
        "/v1/models/nothing:predict",
        {"instances": ["x"]},
        404,
        ("nothing", "sentiment"),
    ),
    Row(
        "unknown version",
        "/v1/models/sentiment/versions/2:predict",
        {"instances": ["x"]},
        404,
        ("Specific(sentiment, 2)",),
    ),
    Row(
        "unknown model, version path",
        "/v1/models/nothing/versions/1/metadata",
        None,
        404,
        ("nothing", "sentiment"),
        method="GET",
    ),
    Row("unknown verb", "/v1/models/regress:classify", {"instances": []}, 404, (":predict",)),
    Row("a name holding ':'", "/v1/models/senti:ment:predict", {}, 404, ("Unknown path",)),
    Row("GET on :predict", TEXT, None, 405, ("GET", "POST /v1/models/NAME"), method="GET"),
    Row("malformed JSON", TEXT, b"{not json", 400, ("JSON Parse error",)),
    Row("empty body", TEXT, b"", 400, ("empty",)),
    Row("blank body", TEXT, b" \r\n", 400, ("empty",)),
    Row("invalid UTF-8", TEXT, b'{"instances": ["caf\xe9"]}', 400, ("not UTF-8",)),
    Row("JSON 100,000 levels deep", TEXT, b"[" * 100_000, 400, ("nested too deeply",)),
    Row("text instance 900 deep", TEXT, b'{"instances": ' + DEEP + b"}", 400, ("strings",)),
    Row("image instance 900 deep", IMAGE, b'{"instances": ' + DEEP + b"}", 400, ("[8, 8, 1]",)),
    Row("table instance 900 deep", TABLE, b'{"instances": ' + DEEP + b"}", 400, ("object",)),
    Row(
        "table column 900 deep",
        TABLE,
        b'{"inputs": {"x": ' + DEEP + b', "kind": ["a"]}}',
        400,
        ("'x'", "a number or a string"),
    ),
    Row("NaN literal", TABLE, b'{"instances": [{"x": NaN}]}', 400, ("NaN", "null")),
    Row("-Infinity literal", TABLE, b'{"inputs": {"x": [-Infinity]}}', 400, ("-Infinity",)),
    Row(
        "number past float32 (1e39)",
        TABLE,
        {"instances": [{"x": 1e39, "kind": "a"}]},
        400,
        ("'x'", "1e+39", "float32"),
    ),
    Row(
        "number past float32, as text",
        TABLE,
        {"inputs": {"x": ["2.5", "1e39"], "kind": ["a", "b"]}},
        400,
        ("'x'", "'1e39'", "float32"),
    ),
    Row(
        "number past float64 (1e999)",
        TABLE,
        b'{"instances": [{"x": 1e999, "kind": "a"}]}',
        400,
        ("'x'", "inf", "float32"),
    ),
    Row(
        "integer of 401 digits",
        TABLE,
        b'{"instances": [{"x": ' + DIGITS_400 + b"}]}",
        400,
        ("'x'", "10000", "float32"),
    ),
    Row(
        "integer of 5,001 digits",
        TABLE,
        b'{"instances": [{"x": 1' + b"0" * 5000 + b"}]}",
        400,
        ("thousands of digits",),
    ),
    Row(
        "pixel of 401 digits",
        IMAGE,
        b'{"instances": [' + PIXELS.replace(b"0", DIGITS_400, 1) + b"]}",
        400,
        ("integers 0-255",),
    ),
    Row(
        "prediction not finite (1e38)",
        "/v1/models/wide:predict",
        {"instances": [{"x": 5.0}] * 9 + [{"x": 1e38}]},  # the 10th is in the second call
        400,
        ("instance 9", "not a finite number", "1e+38"),
        server="limited",
    ),
    Row("lone surrogate", TEXT, b'{"instances": ["\\ud83d alone"]}', 400, ("surrogate",)),
    Row("a number for a text", TEXT, {"instances": [3]}, 400, ("takes strings", "int 3")),
    Row("body not an object", TEXT, b"null", 400, ('"instances"', "None")),
    Row("no instances or inputs", TEXT, {"rows": ["x"]}, 400, ('"instances"', "['rows']")),
    Row("empty inputs object", TABLE, {"inputs": {}}, 400, ('"inputs"',)),
    Row("both instances and inputs", TEXT, {"instances": ["x"], "inputs": ["x"]}, 400, ("either",)),
    Row(
        "another signature",
        TEXT,
        {"signature_name": "other", "instances": ["x"]},
        400,
        ("'other'", "serving_default"),
    ),
    Row("image of another shape", IMAGE, {"instances": [[[1, 2, 3]]]}, 400, ("shape [1, 3]",)),
    Row(
        "b64 that is not an image",
        IMAGE,
        {"instances": [{"b64": base64.b64encode(b"no image").decode()}]},
        400,
        ("the b64 image is not an image Pillow can read",),
    ),
    Row(
        "unknown column (columnar)",
        TABLE,
        {"inputs": {"x": [1.0], "colour": ["red"]}},
        400,
        ("['colour']", "['kind', 'x']"),
    ),
    Row(
        "unknown column (rows)",
        TABLE,
        {"instances": [{"x": 1.0, "colour": "red"}]},
        400,
        ("['colour']", "['kind', 'x']"),
    ),
    Row(
        "a word for a number",
        TABLE,
        {"instances": [{"x": "lots", "kind": "a"}]},
        400,
        ("'x'", "'lots'"),
    ),
    Row(
        "a PNG file as the body",
        IMAGE,
        PNG.getvalue(),
        400,
        ("image/png", "JSON"),
        headers={"Content-Type": "image/png"},
    ),
    Row(
        "a multipart form",
        TEXT,
        FORM,
        400,
        ("multipart/form-data", "JSON"),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    Row(
        "JSON as text/plain",
        TEXT,
        {"instances": ["ok"]},
        200,
        headers={"Content-Type": "text/plain"},
    ),
    Row(
        "JSON as curl's form type",
        TEXT,
        {"instances": ["ok"]},
        200,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Row("named columnar input", TEXT, {"inputs": {"texts": ["ok", "fine"]}}, 200),
    Row(
        "body over --max-body-bytes",
        TEXT,
        b'{"instances": ["' + b"a" * 30_000 + b'"]}',
        413,
        ("30,019 bytes", "20,000", "--max-body-bytes"),
        server="limited",
    ),
    Row(
        "chunked body over --max-body-bytes",
        TEXT,
        (b'{"instances": ["', b"a" * 15_000, b"a" * 15_000, b'"]}'),
        413,
        ("more than 20,000", "--max-body-bytes"),
        server="limited",
    ),
    Row(
        "instances over --max-instances",
        TEXT,
        {"instances": ["a"] * 101},
        413,
        ("101", "100", "--max-instances"),
        server="limited",
    ),
    Row(
        "columns over --max-instances",
        TEXT,
        {"inputs": {"texts": ["a"] * 101}},
        413,
        ("101", "--max-instances"),
        server="limited",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_bad_requests_are_answered_and_the_server_keeps_serving(row, request):
    server = request.getfixturevalue(row.server)
    body, raw = (None, row.body) if isinstance(row.body, (bytes, tuple)) else (row.body, None)
    answered, payload = call(server, row.method, row.path, body, raw, row.headers)
    assert answered == row.status, payload
    if row.status == 200:
        assert "error" not in payload
    else:
        assert set(payload) == {"error"}
    for fragment in row.fragments:
        assert fragment in payload["error"], payload["error"]
    assert call(server, "POST", TEXT, {"instances": ["ok"]})[0] == 200


def test_a_request_larger_than_max_batch_size_runs_in_calls_of_that_size(limited, tiny_runs):
    texts = [
        f"great fun {i}" if i % 3 else f"dull film {i}" for i in range(LIMITS["max_instances"])
    ]
    expected = predicted(tiny_runs, "text", texts)
    batcher = limited["models"]["sentiment"].batcher
    for body, key in (({"instances": texts}, "predictions"), ({"inputs": texts}, "outputs")):
        calls = batcher.calls
        status, answer = call(limited, "POST", TEXT, body)
        assert status == 200
        np.testing.assert_allclose(answer[key], expected, rtol=1e-5)
        assert batcher.calls - calls == math.ceil(len(texts) / LIMITS["max_batch_size"])


def test_memory_returns_near_its_baseline_after_a_10_mb_request(server):
    import psutil

    process = psutil.Process()
    texts = [f"short text number {i}" for i in range(300_000)]
    body = json.dumps({"instances": texts}).encode()
    assert len(body) > 7_000_000
    assert call(server, "POST", TEXT, {"instances": texts[:64]})[0] == 200
    baseline, peak, done = process.memory_info().rss, [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    batcher = server["models"]["sentiment"].batcher
    calls = batcher.calls
    try:
        status, answer = call(server, "POST", TEXT, raw=body)
    finally:
        done.set()
        sampler.join()
    assert status == 200 and len(answer["predictions"]) == len(texts)
    assert batcher.calls - calls == math.ceil(len(texts) / 64)  # the default --max-batch-size
    del answer, body, texts
    after = process.memory_info().rss
    mib = 2**20
    assert peak[0] - baseline < 1024 * mib, (baseline / mib, peak[0] / mib)  # 8 GB before
    assert after - baseline < 256 * mib, (baseline / mib, after / mib)


def test_concurrent_single_requests_are_right_and_share_model_calls(server, tiny_runs):
    texts = [f"great fun number {i}" if i % 2 else f"dull film number {i}" for i in range(96)]
    expected = predicted(tiny_runs, "text", texts)
    batcher = server["models"]["sentiment"].batcher
    calls_before = batcher.calls

    def one(text: str):
        return call(server, "POST", "/v1/models/sentiment:predict", {"instances": [text]})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, texts))
    assert all(status == 200 for status, _ in answers)
    got = np.array([body["predictions"][0] for _, body in answers])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert batcher.calls - calls_before < len(texts)  # some requests shared a call


@pytest.mark.parametrize(
    ("stop", "status"),
    # uvicorn shuts down, then raises SIGTERM again so that a supervisor sees it
    [(signal.SIGINT, 0), (signal.SIGTERM, -signal.SIGTERM)],
    ids=["ctrl-c", "sigterm"],
)
def test_the_command_serves_until_stopped_and_stops_cleanly(tiny_runs, stop, status, tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", "tfapps", "serve", str(tiny_runs["text"]), "--port", str(port)]
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with (
        out_path.open("w") as out,
        err_path.open("w") as err,
        subprocess.Popen(command, stdout=out, stderr=err) as process,
    ):
        answered = None
        deadline = time.monotonic() + 120
        while answered is None and time.monotonic() < deadline and process.poll() is None:
            try:
                answered, _ = call({"port": port}, "GET", "/v1/models/sentiment")
            except OSError:
                time.sleep(0.2)
        process.send_signal(stop if answered == 200 else signal.SIGKILL)
        process.wait(timeout=30)
    printed, errors = out_path.read_text(), err_path.read_text()
    assert answered == 200, errors
    assert process.returncode == status, errors
    assert "Serving sentiment" in printed and "Traceback" not in errors
