"""`tfapps serve`: TensorFlow Serving's REST API for every task, on a local port.

The server runs in a thread of this process on a free loopback port; every request goes
through real HTTP (`http.client`), is compared with `tfapps predict` on the same inputs, and
every kind of bad request is answered with `{"error": ...}` while the server keeps serving.
"""

from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # the runs train, and the server loads their SavedModels


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_runs):
    import uvicorn

    from tfapps import serve

    runs = [tiny_runs[name] for name in ("image", "text", "table", "classes")]
    models = serve.load_models(runs)
    port = _free_port()
    app = serve.create_app(models)
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


def call(server, method: str, path: str, body=None, raw: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
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


def test_text_predictions_match_tfapps_predict_in_both_formats(server, tiny_runs):
    texts = ["great fun loved it", "dull and boring"]
    expected = predicted(tiny_runs, "text", texts)
    status, rows = call(server, "POST", "/v1/models/sentiment:predict", {"instances": texts})
    assert status == 200
    np.testing.assert_allclose(rows["predictions"], expected, rtol=1e-5)
    status, columns = call(server, "POST", "/v1/models/sentiment:predict", {"inputs": texts})
    np.testing.assert_allclose(columns["outputs"], expected, rtol=1e-5)
    b64 = {"b64": base64.b64encode(texts[0].encode()).decode()}
    _, encoded = call(
        server,
        "POST",
        "/v1/models/sentiment/versions/1:predict?class_names=true",
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


@pytest.mark.parametrize(
    ("path", "body", "status", "fragments"),
    [
        ("/v1/models/nothing:predict", {"instances": ["x"]}, 404, ("nothing", "sentiment")),
        ("/v1/models/sentiment/versions/2:predict", {"instances": ["x"]}, 404, ("2",)),
        ("/v1/models/sentiment:predict", b"{not json", 400, ("JSON Parse error",)),
        ("/v1/models/sentiment:predict", {"rows": ["x"]}, 400, ('"instances"', "['rows']")),
        ("/v1/models/sentiment:predict", {"instances": [3]}, 400, ("takes strings", "int 3")),
        (
            "/v1/models/sentiment:predict",
            {"signature_name": "other", "instances": ["x"]},
            400,
            ("'other'", "serving_default"),
        ),
        (
            "/v1/models/image-classify:predict",
            {"instances": [[[1, 2, 3]]]},
            400,
            ("shape [8, 8, 1]", "shape [1, 3]"),
        ),
        (
            "/v1/models/image-classify:predict",
            {"instances": [{"b64": base64.b64encode(b"no image").decode()}]},
            400,
            ("not an image",),
        ),
        (
            "/v1/models/regress:predict",
            {"inputs": {"x": [1.0], "colour": ["red"]}},
            400,
            ("['colour']", "['kind', 'x']"),
        ),
        (
            "/v1/models/regress:predict",
            {"instances": [{"x": 1.0, "colour": "red"}]},
            400,
            ("['colour']", "['kind', 'x']"),
        ),
        (
            "/v1/models/regress:predict",
            {"instances": [{"x": "lots", "kind": "a"}]},
            400,
            ("'x'", "'lots'"),
        ),
        ("/v1/models/regress:classify", {"instances": []}, 404, (":predict",)),
    ],
)
def test_bad_requests_are_answered_and_the_server_keeps_serving(
    server, path, body, status, fragments
):
    raw = body if isinstance(body, bytes) else None
    answered, payload = call(server, "POST", path, None if raw else body, raw)
    assert answered == status and set(payload) == {"error"}
    for fragment in fragments:
        assert fragment in payload["error"], payload["error"]
    assert call(server, "POST", "/v1/models/sentiment:predict", {"instances": ["ok"]})[0] == 200


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
