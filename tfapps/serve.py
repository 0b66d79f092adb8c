"""`tfapps serve`: TensorFlow Serving's REST API over finished runs' SavedModels.

A Starlette application served by uvicorn. For each run, under a name a person can type (the
task, or `--name`), Starlette routes TF Serving's URLs (`ROUTES`):

- `GET /v1/models/NAME` (status) and `GET /v1/models/NAME/metadata` (the `serving_default`
  signature: input and output names, dtypes and shapes), as TF Serving answers them;
- `POST /v1/models/NAME:predict` with TF Serving's row (`instances`) or columnar (`inputs`)
  bodies, answering `{"predictions": ...}` or `{"outputs": ...}` (`serving_requests`); the
  version path (`/versions/1`) is accepted too. `?class_names=true` adds each example's
  class name and probability for classifiers.

A request larger than `--max-batch-size` runs as several model calls of at most that size;
requests that arrive while the model is busy wait in a queue and run together in one model
call (`serving_batcher`). Bodies are held to `--max-body-bytes` and `--max-instances`
(`serving_bodies`). Errors answer HTTP 400 (a request the model cannot take), 404 (an unknown
model or path), 405 (another method) or 413 (a limit) with `{"error": "..."}`, naming what was
received and what is accepted; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfapps import runs
from tfapps.errors import InvalidInput
from tfapps.serving_batcher import Batcher
from tfapps.serving_bodies import (
    BadRequest,
    ServingOptions,
    TooLarge,
    check_finite,
    decode_request,
    read_body,
    render,
    split_examples,
)
from tfapps.serving_requests import InputSpec, format_response, parse_request

log = logging.getLogger("tfapps")

VERSION = "1"  # a run directory holds one version of its model
DEFAULT_PORT = 8501  # TensorFlow Serving's REST port
MODEL_NAME = "[^/:]+"  # a model's name or version in a URL: no "/", nor ":" (before a verb)
BASE = "/v1/models/{name:model}"
ROUTES = (  # (path, endpoint, method); each path also under /versions/{version}
    ("", "status", "GET"),
    ("/metadata", "metadata", "GET"),
    (":predict", "predict", "POST"),
)
INLINE_BYTES = 64 * 2**10  # bodies up to this size are read on the event loop, at once
ACCEPTED = "GET /v1/models/NAME[/versions/1][/metadata], POST /v1/models/NAME[/versions/1]:predict"
DTYPES = {"uint8": "DT_UINT8", "string": "DT_STRING", "float32": "DT_FLOAT"}


@dataclass
class ServedModel:
    """One run served under a name.

    Args:
        name: the name in the URL.
        record: the run's record.
        signature: the SavedModel's `serving_default` function.
        inputs: its inputs.
        outputs: its output names to `(dtype, shape)`.
        batcher: the queue its requests run through.
    """

    name: str
    record: runs.RunRecord
    signature: Any
    inputs: list[InputSpec]
    outputs: dict[str, tuple[str, tuple]]
    batcher: Batcher | None = None

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        tensors = {name: tf.constant(value) for name, value in inputs.items()}
        return {name: value.numpy() for name, value in self.signature(**tensors).items()}


def load_models(paths: list[Path], names: list[str] | None = None) -> list[ServedModel]:
    """Loads each run's SavedModel, named by `names` or by the task (then the task and the
    dataset, then the run id, when two runs would share a name).

    Raises:
        InvalidInput: a path that is not a finished run, a SavedModel that does not load,
            more names than runs, a name that cannot be part of a URL, or two runs under one
            name.
    """
    from tfapps.predict import load_run

    names = list(names or [])
    if len(names) > len(paths):
        raise InvalidInput(
            f"Invalid value for --name: {len(names)} names for {len(paths)} runs; give at most "
            "one name a run, in the order of the runs."
        )
    unusable = [name for name in names if not re.fullmatch(MODEL_NAME, name)]
    if unusable:
        raise InvalidInput(
            f"Invalid value for --name: {unusable[0]!r}; a model's name is part of its URLs, "
            "so it cannot be empty or hold '/' or ':'."
        )
    loaded = [load_run(path) for path in paths]
    chosen = names + [_default_name(run.record, loaded) for run in loaded[len(names) :]]
    if len(set(chosen)) < len(chosen):
        raise InvalidInput(f"Invalid value for --name: two runs would share a name: {chosen}.")
    return [_served(name, run) for name, run in zip(chosen, loaded, strict=True)]


def _default_name(record: runs.RunRecord, loaded: list) -> str:
    same_task = [run.record for run in loaded if run.record.task == record.task]
    if len(same_task) == 1:
        return record.task
    same_data = [r for r in same_task if r.dataset.name == record.dataset.name]
    name = re.sub("[/:]", "-", f"{record.task}-{record.dataset.name}")  # TFDS' wine_quality/red
    return name if len(same_data) == 1 else f"{name}-{record.run_id}"


def _served(name: str, run) -> ServedModel:
    arguments = run.signature.structured_input_signature[1]
    inputs = [
        InputSpec(key, arguments[key].dtype.name, tuple(arguments[key].shape.as_list()[1:]))
        for key in run.input_names
    ]
    outputs = {
        key: (spec.dtype.name, tuple(spec.shape.as_list()))
        for key, spec in run.signature.structured_outputs.items()
    }
    return ServedModel(name, run.record, run.signature, inputs, outputs)


class NotServed(Exception):
    """An unknown model or version (HTTP 404)."""


def create_app(models: list[ServedModel], options: ServingOptions | None = None):
    """The Starlette application serving `models`.

    Args:
        models: from `load_models`.
        options: batching and request limits. Defaults to `ServingOptions()`.

    Returns:
        A Starlette application; its lifespan starts one `Batcher` a model.
    """
    from starlette.applications import Starlette
    from starlette.convertors import StringConvertor, register_url_convertor
    from starlette.requests import ClientDisconnect
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    class ModelNameConvertor(StringConvertor):
        regex = MODEL_NAME

    register_url_convertor("model", ModelNameConvertor())
    options = options or ServingOptions()
    by_name = {model.name: model for model in models}

    @asynccontextmanager
    async def lifespan(app):
        for model in models:
            model.batcher = Batcher(model.run, options.max_batch_size, options.batch_wait)
            model.batcher.start()
        # TensorFlow and the loaded models leave hundreds of thousands of objects that every
        # full collection walks, stalling all requests in flight (issue 30's p99): they live
        # as long as the server, so they leave the collector's generations.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        for model in models:
            await model.batcher.stop()

    def served(request) -> ServedModel:
        name, version = request.path_params["name"], request.path_params.get("version")
        model = by_name.get(name)
        if model is None:
            served = ", ".join(sorted(by_name))
            raise NotServed(f"Servable not found for request: Latest({name}); served: {served}")
        if version not in (None, VERSION):
            raise NotServed(
                f"Servable not found for request: Specific({name}, {version}); "
                f"version {VERSION} is served"
            )
        return model

    async def status(request):
        served(request)
        return JSONResponse(_status())

    async def metadata(request):
        return JSONResponse(_metadata(served(request)))

    async def predict(request):
        model = served(request)
        body = await _predict(request, model, options)
        return Response(body, media_type="application/json")

    def answer(status: int):
        async def handler(request, error):
            return JSONResponse({"error": str(error) or type(error).__name__}, status)

        return handler

    async def unrouted(request, error):
        message = (
            f"Unknown path or method: {request.method} {request.url.path}; accepted: {ACCEPTED}"
        )
        return JSONResponse({"error": message}, error.status_code, headers=error.headers)

    endpoints = {"status": status, "metadata": metadata, "predict": predict}
    routes = [
        Route(prefix + suffix, endpoints[endpoint], methods=[method])
        for prefix in (BASE, BASE + "/versions/{version:model}")
        for suffix, endpoint, method in ROUTES
    ]
    handlers = {
        BadRequest: answer(400),
        NotServed: answer(404),
        TooLarge: answer(413),
        ClientDisconnect: answer(400),  # no one hears it; no traceback in the log either
        404: unrouted,
        405: unrouted,
        Exception: answer(500),  # a fault of the server's (uvicorn logs its traceback)
    }
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)


async def _predict(request, model: ServedModel, options: ServingOptions) -> bytes:
    """Reads, runs and answers one predict request, in model calls of at most
    `options.max_batch_size` examples. The JSON work of a body over `INLINE_BYTES` runs on
    worker threads, so that a large body never holds the event loop (nor the other clients)
    up; a small one is read at once, sparing its thread hops."""
    batcher = model.batcher
    batcher.arriving += 1  # a call about to start waits a moment for this request
    arriving = True
    try:
        raw = await read_body(
            request.stream(), request.headers.get("content-length"), options.max_body_bytes
        )
        content_type = request.headers.get("content-type")
        offload = len(raw) > INLINE_BYTES
        body = await _worker(offload, decode_request, raw, content_type, options.max_instances)
        del raw
        outputs, row_format = [], True
        for first, piece in split_examples(body, options.max_batch_size):
            inputs, count, row_format = await _worker(
                offload, parse_request, piece, model.inputs, model.record
            )
            if arriving:
                batcher.arriving, arriving = batcher.arriving - 1, False
            result = await batcher.predict(inputs, count)
            check_finite(result, piece, first)
            outputs.append(result)
    finally:
        if arriving:
            batcher.arriving -= 1
    wanted = request.query_params.get("class_names", "").lower() in ("1", "true", "yes")
    names = model.record.dataset.class_names if wanted else None
    return await _worker(offload, _answer, outputs, row_format, names)


async def _worker(offload: bool, function, *args):
    """`function(*args)`, on a worker thread if `offload`; a value too deep for Python is a
    bad request."""
    try:
        return await asyncio.to_thread(function, *args) if offload else function(*args)
    except RecursionError:
        raise BadRequest("The request is nested too deeply to read.") from None


def _answer(outputs: list[dict[str, np.ndarray]], row_format: bool, names) -> bytes:
    joined = {name: np.concatenate([part[name] for part in outputs]) for name in outputs[0]}
    return render(format_response(joined, row_format, names))


def _status() -> dict:
    ok = {"error_code": "OK", "error_message": ""}
    return {"model_version_status": [{"version": VERSION, "state": "AVAILABLE", "status": ok}]}


def _metadata(model: ServedModel) -> dict:
    def shape(dims) -> dict:
        sizes = [{"size": str(-1 if d is None else d), "name": ""} for d in dims]
        return {"dim": sizes, "unknown_rank": False}

    inputs = {
        spec.name: {
            "dtype": DTYPES.get(spec.dtype, spec.dtype),
            "tensor_shape": shape((None, *spec.shape)),
            "name": f"serving_default_{spec.name}:0",
        }
        for spec in model.inputs
    }
    outputs = {
        name: {
            "dtype": DTYPES.get(dtype, dtype),
            "tensor_shape": shape(dims),
            "name": f"StatefulPartitionedCall:{index}",
        }
        for index, (name, (dtype, dims)) in enumerate(model.outputs.items())
    }
    signature = {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}
    record = model.record
    return {
        "model_spec": {"name": model.name, "signature_name": "", "version": VERSION},
        "metadata": {
            "signature_def": {"signature_def": {"serving_default": signature}},
            "tfapps": {
                "task": record.task,
                "run_id": record.run_id,
                "dataset": record.dataset.name,
                "class_names": record.dataset.class_names,
            },
        },
    }


def serve(
    models: list[ServedModel],
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    options: ServingOptions | None = None,
) -> None:
    """Serves `models` until Ctrl-C or SIGTERM (uvicorn stops cleanly on either).

    Args:
        models: from `load_models`.
        host: the address to bind; 127.0.0.1 keeps the server to this machine. Defaults to it.
        port: the port. Defaults to 8501, TensorFlow Serving's REST port.
        options: batching and request limits. Defaults to `ServingOptions()`.
    """
    import uvicorn

    app = create_app(models, options)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
