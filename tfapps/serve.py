"""`tfapps serve`: TensorFlow Serving's REST API over finished runs' SavedModels.

A Starlette application served by uvicorn. For each run, under a name a person can type (the
task, or `--name`):

- `GET /v1/models/NAME` (status) and `GET /v1/models/NAME/metadata` (the `serving_default`
  signature: input and output names, dtypes and shapes), as TF Serving answers them;
- `POST /v1/models/NAME:predict` with TF Serving's row (`instances`) or columnar (`inputs`)
  bodies, answering `{"predictions": ...}` or `{"outputs": ...}` (`serving_requests`); the
  version path (`/versions/1`) is accepted too. `?class_names=true` adds each example's
  class name and probability for classifiers.

Requests that arrive while the model is busy wait in a queue and run together in one model
call (`Batcher`): a lone request runs at once, and under load the batches grow with the
clients. Errors answer HTTP 400 (a request the model cannot take) or 404 (an unknown model or
path) with `{"error": "..."}`, naming what was received and what is accepted; the server
keeps serving.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfapps import runs
from tfapps.errors import InvalidInput
from tfapps.serving_requests import BadRequest, InputSpec, format_response, parse_request

log = logging.getLogger("tfapps")

VERSION = "1"  # a run directory holds one version of its model
DEFAULT_PORT = 8501  # TensorFlow Serving's REST port
MAX_BATCH = 64
BATCH_WAIT_SECONDS = 0.002
DTYPES = {"uint8": "DT_UINT8", "string": "DT_STRING", "float32": "DT_FLOAT"}


class Batcher:
    """Runs a model on queued requests, one call at a time, several requests a call.

    When the model is free, a request runs at once; requests arriving meanwhile queue and run
    together in the next call, up to `max_batch` examples (a larger request runs alone). When
    other requests are still being read as a call is about to start, it waits up to `wait`
    seconds for them, so that requests arriving together share a call.

    Args:
        call: runs the model on a batch, `{input: array} -> {output: array}` (blocking; it
            runs in a worker thread).
        max_batch: examples per call at most. Defaults to `MAX_BATCH`.
        wait: seconds to wait for requests being read. Defaults to `BATCH_WAIT_SECONDS`.
    """

    def __init__(self, call, max_batch: int = MAX_BATCH, wait: float = BATCH_WAIT_SECONDS):
        self.call, self.max_batch, self.wait = call, max_batch, wait
        self.arriving = 0  # requests being read, not yet queued
        self.calls = 0  # model calls so far
        self._queue: collections.deque = collections.deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        """Starts the worker on the running event loop."""
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    async def predict(self, inputs: dict[str, np.ndarray], count: int) -> dict[str, np.ndarray]:
        """Queues one request of `count` examples and returns its outputs."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append((inputs, count, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if self.wait and self.arriving:
                    await asyncio.sleep(self.wait)
                batch = [self._queue.popleft()]
                total = batch[0][1]
                while self._queue and total + self._queue[0][1] <= self.max_batch:
                    batch.append(self._queue.popleft())
                    total += batch[-1][1]
                await self._call(batch)

    async def _call(self, batch: list) -> None:
        names = batch[0][0].keys()
        inputs = {name: np.concatenate([request[0][name] for request in batch]) for name in names}
        self.calls += 1
        try:
            outputs = await asyncio.to_thread(self.call, inputs)
        except Exception as error:  # the model refused the batch: each request hears why
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(BadRequest(f"The model could not run: {error}"))
            return
        start = 0
        for _, count, future in batch:
            if not future.done():
                future.set_result({k: v[start : start + count] for k, v in outputs.items()})
            start += count


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
            more names than runs, or two runs under one name.
    """
    from tfapps.predict import load_run

    names = list(names or [])
    if len(names) > len(paths):
        raise InvalidInput(
            f"Invalid value for --name: {len(names)} names for {len(paths)} runs; give at most "
            "one name a run, in the order of the runs."
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
    name = f"{record.task}-{record.dataset.name}"
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


def create_app(
    models: list[ServedModel], max_batch: int = MAX_BATCH, wait: float = BATCH_WAIT_SECONDS
):
    """The Starlette application serving `models`.

    Args:
        models: from `load_models`.
        max_batch: examples per model call at most. Defaults to `MAX_BATCH`.
        wait: seconds a call waits for requests being read. Defaults to `BATCH_WAIT_SECONDS`.
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    by_name = {model.name: model for model in models}

    @asynccontextmanager
    async def lifespan(app):
        for model in models:
            model.batcher = Batcher(model.run, max_batch, wait)
            model.batcher.start()
        yield
        for model in models:
            await model.batcher.stop()

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def models_route(request):
        path = request.path_params["path"]
        name, version, verb = _parse_path(path)
        model = by_name.get(name)
        if model is None:
            served = ", ".join(sorted(by_name))
            return error(404, f"Servable not found for request: Latest({name}); served: {served}")
        if version not in (None, VERSION):
            return error(
                404,
                f"Servable not found for request: Specific({name}, {version}); "
                f"version {VERSION} is served",
            )
        if verb is None and request.method == "GET":
            return JSONResponse(_status())
        if verb == "metadata" and request.method == "GET":
            return JSONResponse(_metadata(model))
        if verb == "predict" and request.method == "POST":
            return await _predict(request, model, error)
        return error(
            404,
            f"Unknown path or method: {request.method} /v1/models/{path}; "
            "accepted: GET .../NAME, GET .../NAME/metadata, POST .../NAME:predict",
        )

    routes = [Route("/v1/models/{path:path}", models_route, methods=["GET", "POST"])]
    return Starlette(routes=routes, lifespan=lifespan)


async def _predict(request, model: ServedModel, error):
    from starlette.responses import JSONResponse

    model.batcher.arriving += 1  # a call about to start waits a moment for this request
    try:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as failure:
            return error(400, f"JSON Parse error: {failure}")
        signature = body.get("signature_name", "serving_default") if isinstance(body, dict) else ""
        if signature not in ("", "serving_default"):
            return error(
                400,
                f"Serving signature name: {signature!r} not found in signature def; the "
                "served signature is 'serving_default'",
            )
        inputs, count, row_format = parse_request(body, model.inputs, model.record)
    except BadRequest as failure:
        return error(400, str(failure))
    finally:
        model.batcher.arriving -= 1
    try:
        outputs = await model.batcher.predict(inputs, count)
    except BadRequest as failure:
        return error(400, str(failure))
    wanted = request.query_params.get("class_names", "").lower() in ("1", "true", "yes")
    names = model.record.dataset.class_names if wanted else None
    return JSONResponse(format_response(outputs, row_format, names))


def _parse_path(path: str) -> tuple[str, str | None, str | None]:
    """`NAME[/versions/V][/metadata | :predict]` → `(name, version, verb)`."""
    verb = None
    if path.endswith("/metadata"):
        path, verb = path[: -len("/metadata")], "metadata"
    elif ":" in path:
        path, verb = path.rsplit(":", 1)
    name, _, rest = path.partition("/")
    version = rest.removeprefix("versions/") if rest.startswith("versions/") else None
    if rest and version is None:
        name = f"{name}/{rest}"  # no such model; reported as unknown
    return name, version, verb


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
    max_batch: int = MAX_BATCH,
    wait: float = BATCH_WAIT_SECONDS,
) -> None:
    """Serves `models` until Ctrl-C or SIGTERM (uvicorn stops cleanly on either).

    Args:
        models: from `load_models`.
        host: the address to bind; 127.0.0.1 keeps the server to this machine. Defaults to it.
        port: the port. Defaults to 8501, TensorFlow Serving's REST port.
        max_batch: examples per model call at most. Defaults to `MAX_BATCH`.
        wait: seconds a call waits for requests being read. Defaults to `BATCH_WAIT_SECONDS`.
    """
    import uvicorn

    app = create_app(models, max_batch, wait)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
