"""TensorFlow Serving's REST request and response bodies, for a tfapps run's SavedModel.

The shapes follow tensorflow/serving's `api_rest.md`:

- request, row format: `{"signature_name": ..., "instances": [instance, ...]}`, where an
  instance is the value of the single input, or `{input name: value}`;
- request, columnar format: `{"inputs": value}` for a single input, or `{"inputs": {input
  name: [values]}}`;
- response: `{"predictions": [row, ...]}` for the row format, `{"outputs": value}` for the
  columnar one (a single output's value, else a dict of them);
- binary values as `{"b64": "<base64>"}`.

The request's shape is read here; each input's values are read by the run's task
(`Task.serving_values`), as `tfapps predict` reads them: an image model also takes a
`{"b64": ...}` image file (PNG, JPEG, any format and size Pillow reads), decoded and fitted
exactly as in training; a table model also takes its columns by their names in the CSV
(`Task.serving_aliases`), and missing or null values (NaN, which the model replaces by the
training median).
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfapps.runs import OUTPUT_NAME, RunRecord
from tfapps.serving_bodies import BadRequest

FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class InputSpec:
    """One input of the serving signature.

    Args:
        name: the input's name.
        dtype: `"uint8"`, `"string"` or `"float32"`.
        shape: the shape without the batch axis (`None` for unknown sizes).
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...]


def parse_request(
    body: Any, specs: list[InputSpec], record: RunRecord
) -> tuple[dict[str, np.ndarray], int, bool]:
    """Reads a predict request's body into the model's inputs.

    Args:
        body: the parsed JSON.
        specs: the serving signature's inputs.
        record: the run's record (image size and resize rule, table columns).

    Returns:
        `(inputs by name, number of examples, whether the request used the row format)`.

    Raises:
        BadRequest: a body of another shape, a wrong input name, shape or dtype.
    """
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise BadRequest(
            'Request body must be a JSON object with either "instances" (row format) or '
            f'"inputs" (columnar format). Received keys: {_keys(body)}'
        )
    from tfapps.tasks import get_task

    task = get_task(record.task)
    aliases = task.serving_aliases(record)
    names = [spec.name for spec in specs]
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise BadRequest(
                f'"instances" must be a non-empty list. Received: {kind_of(instances)}'
            )
        if aliases:  # inputs by any of their names, missing ones imputed
            instances = [_renamed(instance, names, aliases) for instance in instances]
        columns = {
            name: [_field(instance, name, names) for instance in instances] for name in names
        }
        count = len(instances)
    else:
        inputs = body["inputs"]
        known = {**aliases, **{name: name for name in names}}
        if len(names) > 1 or isinstance(inputs, dict) and set(inputs) <= set(known):
            columns = _named_columns(inputs, names, known)
        else:
            columns = {names[0]: inputs}
        count = _count(columns)
    by_spec = {spec.name: spec for spec in specs}
    arrays = {
        name: task.serving_values(values, by_spec[name], record) for name, values in columns.items()
    }
    return arrays, count, "instances" in body


def format_response(outputs: dict[str, np.ndarray], row_format: bool, class_names=None) -> dict:
    """The response body: `{"predictions": ...}` or `{"outputs": ...}`, as TF Serving shapes
    them (a single output's value, else a dict of outputs), plus, when `class_names` are
    given, each example's class name and probability (`"classes"`, `"probabilities"`)."""
    values = {name: _listed(array) for name, array in outputs.items()}
    if row_format:
        count = len(next(iter(values.values())))
        rows = (
            next(iter(values.values()))
            if len(values) == 1
            else [{name: value[i] for name, value in values.items()} for i in range(count)]
        )
        body = {"predictions": rows}
    else:
        body = {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    if class_names:
        from tfapps.reports import class_probabilities

        probabilities = class_probabilities(outputs[OUTPUT_NAME])
        best = probabilities.argmax(axis=1)
        body["classes"] = [class_names[i] for i in best]
        body["probabilities"] = probabilities[np.arange(len(best)), best].tolist()
    return body


def _listed(array: np.ndarray) -> list:
    """An output as JSON values; strings (a `"classes"` output) as text, not bytes."""
    if array.dtype.kind in "OS":
        return [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.tolist()]
    return array.tolist()


def _field(instance: Any, name: str, names: list[str]) -> Any:
    if len(names) == 1 and not (isinstance(instance, dict) and name in instance):
        return instance
    return _instance_object(instance, names).get(name)


def _instance_object(instance: Any, names: list[str]) -> dict:
    """A row-format instance of a model with several inputs: an object of them."""
    if not isinstance(instance, dict):
        raise BadRequest(
            f"Each instance must be an object with the inputs {names}. "
            f"Received: {kind_of(instance)}"
        )
    return instance


def _renamed(instance: Any, names: list[str], aliases: dict[str, str]) -> dict:
    """A row keyed by input names, from input names or their aliases."""
    known = {**aliases, **{name: name for name in names}}
    return _by_input_name(_instance_object(instance, names), names, known)


def _by_input_name(values: dict, names: list[str], aliases: dict[str, str]) -> dict:
    """`values` keyed by input name, from any of `aliases`' keys; unknown keys are refused."""
    unknown = sorted(set(values) - set(aliases))
    if unknown:
        raise BadRequest(f"Unknown input(s) {unknown}; the model's inputs are {names}.")
    return {aliases[key]: value for key, value in values.items()}


def _named_columns(inputs: Any, names: list[str], known: dict[str, str]) -> dict[str, list]:
    if not isinstance(inputs, dict):
        raise BadRequest(
            f'"inputs" must be an object of the inputs {names}. Received: {kind_of(inputs)}'
        )
    renamed = _by_input_name(inputs, names, known)
    lengths = {len(v) if isinstance(v, list) else None for v in renamed.values()}
    if None in lengths or len(lengths) != 1:
        raise BadRequest(
            f'Columnar "inputs" must be lists of one length. Received: {shown(inputs, 200)}'
        )
    count = lengths.pop()
    return {name: renamed.get(name, [None] * count) for name in names}


def _count(columns: dict[str, Any]) -> int:
    first = next(iter(columns.values()))
    if not isinstance(first, list) or not first:
        raise BadRequest(
            f'"inputs" must hold a non-empty list of examples. Received: {kind_of(first)}'
        )
    return len(first)


def _keys(body: Any) -> str:
    return shown(sorted(body), 200) if isinstance(body, dict) else kind_of(body)


def kind_of(value: Any) -> str:
    """A received value in messages: its type and the start of its text."""
    return f"{type(value).__name__} {shown(value, 80)}"


def shown(value: Any, chars: int) -> str:
    """`repr(value)` cut to `chars`, without building the repr of a large or deep value."""
    return _SHORT_REPR.repr(value)[:chars]


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 4, 80, 80


def as_float(value: int | float) -> float:
    """A JSON number as a float; an integer past float64's range (JSON has none) is infinite."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def in_float32_range(array: np.ndarray, values: list, name: str) -> np.ndarray:
    """A column's numbers, refused when one is infinite in float32 (past ±3.4e38); NaN, a
    missing value (null), passes.

    Args:
        array: the column as the model takes it.
        values: the values received, for the message.
        name: the input's name.

    Raises:
        BadRequest: naming the input, the range and the value received.
    """
    if array.dtype.kind == "f" and np.isinf(array).any():
        index = int(np.flatnonzero(np.isinf(array))[0])
        raise BadRequest(
            f"Input {name!r} takes numbers between -{FLOAT32_MAX:.4g} and {FLOAT32_MAX:.4g} "
            f"(float32), or null for a missing value. Received: {shown(values[index], 100)}"
        )
    return array
