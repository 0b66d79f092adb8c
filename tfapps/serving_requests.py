"""TensorFlow Serving's REST request and response bodies, for a tfapps run's SavedModel.

The shapes follow tensorflow/serving's `api_rest.md`:

- request, row format: `{"signature_name": ..., "instances": [instance, ...]}`, where an
  instance is the value of the single input, or `{input name: value}`;
- request, columnar format: `{"inputs": value}` for a single input, or `{"inputs": {input
  name: [values]}}`;
- response: `{"predictions": [row, ...]}` for the row format, `{"outputs": value}` for the
  columnar one (a single output's value, else a dict of them);
- binary values as `{"b64": "<base64>"}`.

On top of TF Serving, as `tfapps predict` reads them: an image model also takes a `{"b64":
...}` image file (PNG, JPEG, any format and size Pillow reads), decoded and fitted exactly as
in training; a table model also takes its columns by their names in the CSV, and missing or
null values (imputed with the training median, as in training).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfapps.runs import RunRecord
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
    names = [spec.name for spec in specs]
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise BadRequest(f'"instances" must be a non-empty list. Received: {_kind(instances)}')
        if record.task == "regress":  # columns by input or CSV name, missing ones imputed
            instances = [_renamed(instance, names, record) for instance in instances]
        columns = {
            name: [_field(instance, name, names) for instance in instances] for name in names
        }
        count = len(instances)
    else:
        inputs = body["inputs"]
        if (
            len(names) > 1
            or isinstance(inputs, dict)
            and set(inputs) <= set(_aliases(record) or names)
        ):
            columns = _named_columns(inputs, names, record)
        else:
            columns = {names[0]: inputs}
        count = _count(columns)
    by_spec = {spec.name: spec for spec in specs}
    arrays = {name: _as_array(values, by_spec[name], record) for name, values in columns.items()}
    return arrays, count, "instances" in body


def format_response(outputs: dict[str, np.ndarray], row_format: bool, class_names=None) -> dict:
    """The response body: `{"predictions": ...}` or `{"outputs": ...}`, as TF Serving shapes
    them (a single output's value, else a dict of outputs), plus, when `class_names` are
    given, each example's class name and probability (`"classes"`, `"probabilities"`)."""
    values = {name: array.tolist() for name, array in outputs.items()}
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

        probabilities = class_probabilities(next(iter(outputs.values())))
        best = probabilities.argmax(axis=1)
        body["classes"] = [class_names[i] for i in best]
        body["probabilities"] = probabilities[np.arange(len(best)), best].tolist()
    return body


def _field(instance: Any, name: str, names: list[str]) -> Any:
    if len(names) == 1 and not (isinstance(instance, dict) and name in instance):
        return instance
    return _instance_object(instance, names).get(name)


def _instance_object(instance: Any, names: list[str]) -> dict:
    """A row-format instance of a model with several inputs: an object of them."""
    if not isinstance(instance, dict):
        raise BadRequest(
            f"Each instance must be an object with the inputs {names}. Received: {_kind(instance)}"
        )
    return instance


def _aliases(record: RunRecord) -> dict[str, str]:
    """A table model's column names (as in its CSV) and input names, to the input name."""
    columns = record.dataset.details.get("columns", [])
    return {**{c["name"]: c["input"] for c in columns}, **{c["input"]: c["input"] for c in columns}}


def _renamed(instance: Any, names: list[str], record: RunRecord) -> dict:
    """A table row keyed by input names, from input or CSV column names."""
    return _by_input_name(_instance_object(instance, names), names, _aliases(record))


def _by_input_name(values: dict, names: list[str], aliases: dict[str, str]) -> dict:
    """`values` keyed by input name, from any of `aliases`' keys; unknown keys are refused."""
    unknown = sorted(set(values) - set(aliases))
    if unknown:
        raise BadRequest(f"Unknown input(s) {unknown}; the model's inputs are {names}.")
    return {aliases[key]: value for key, value in values.items()}


def _named_columns(inputs: Any, names: list[str], record: RunRecord) -> dict[str, list]:
    if not isinstance(inputs, dict):
        raise BadRequest(
            f'"inputs" must be an object of the inputs {names}. Received: {_kind(inputs)}'
        )
    renamed = _by_input_name(inputs, names, _aliases(record) or {name: name for name in names})
    lengths = {len(v) if isinstance(v, list) else None for v in renamed.values()}
    if None in lengths or len(lengths) != 1:
        raise BadRequest(
            f'Columnar "inputs" must be lists of one length. Received: {_shown(inputs, 200)}'
        )
    count = lengths.pop()
    return {name: renamed.get(name, [None] * count) for name in names}


def _count(columns: dict[str, Any]) -> int:
    first = next(iter(columns.values()))
    if not isinstance(first, list) or not first:
        raise BadRequest(
            f'"inputs" must hold a non-empty list of examples. Received: {_kind(first)}'
        )
    return len(first)


def _as_array(values: list, spec: InputSpec, record: RunRecord) -> np.ndarray:
    if record.task == "regress":
        with np.errstate(over="ignore"):  # a number past float32's range is refused below
            return _in_range(_column(values, spec.name, record), values, spec.name)
    if spec.dtype == "uint8":
        return np.stack([_image(value, spec, record) for value in values])
    return np.array([_text(value, spec.name) for value in values], dtype=object)


def _image(value: Any, spec: InputSpec, record: RunRecord) -> np.ndarray:
    from tfapps.data.images import ImageReadError, read_image

    height, width, channels = spec.shape
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            data = base64.b64decode(value["b64"], validate=True)
            return read_image(io.BytesIO(data), (height, width), channels, _resize(record))
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f'Input {spec.name!r}: "b64" must hold base64 text.') from None
        except ImageReadError as error:
            raise BadRequest(f"Input {spec.name!r}: the b64 image {error.reason}.") from None
    accepted = f'uint8 images of shape {list(spec.shape)} or {{"b64": <an image file>}}'
    try:
        array = np.asarray(value, dtype=object)
    except ValueError:  # nested deeper than NumPy's 64 dimensions
        raise BadRequest(
            f"Input {spec.name!r} takes {accepted}. Received: {_kind(value)}"
        ) from None
    if array.shape != spec.shape:
        raise BadRequest(
            f"Input {spec.name!r} takes {accepted}. Received: an array of shape "
            f"{_shown(list(array.shape), 100)}"
        )
    try:
        numbers = array.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise BadRequest(
            f"Input {spec.name!r} takes integers 0-255. Received: {_shown(value, 100)}"
        ) from None
    if not ((numbers >= 0) & (numbers <= 255) & (numbers == np.round(numbers))).all():
        raise BadRequest(f"Input {spec.name!r} takes integers 0-255.")
    return numbers.astype(np.uint8)


def _text(value: Any, name: str) -> str:
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            return base64.b64decode(value["b64"], validate=True).decode("utf-8")
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f'Input {name!r}: "b64" must hold base64 UTF-8 text.') from None
    if not isinstance(value, str):
        raise BadRequest(f"Input {name!r} takes strings. Received: {_kind(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:  # JSON's "\ud800" escapes decode to lone surrogates
            raise BadRequest(
                f"Input {name!r} takes Unicode text; {error.object[error.start]!r} at "
                f"character {error.start} is half of a UTF-16 surrogate pair."
            ) from None
    return value.removeprefix("\ufeff")


def _column(values: list, name: str, record: RunRecord) -> np.ndarray:
    """A table column's values, read as `tfapps predict` reads a CSV's (`raw_inputs`):
    numbers in the training file's format, null and missing markers imputed."""
    import pandas as pd

    from tfapps.data.numbers import NA_MARKERS
    from tfapps.data.table_columns import category_string
    from tfapps.raw_inputs import column_values

    if any(isinstance(v, (list, dict, bool)) for v in values):
        raise BadRequest(
            f"Input {name!r} takes a number or a string a row. Received: {_shown(values, 100)}"
        )
    column = next(c for c in record.dataset.details["columns"] if c["input"] == name)
    median = column.get("median")
    markers = set(record.dataset.details.get("na_values") or NA_MARKERS)
    if column["kind"] == "categorical":
        return np.array(  # strings and numbers as they come: no format to read
            ["" if _missing(v, markers) else category_string(v) for v in values], dtype=object
        )
    numbers = all(_is_number(v) or v is None for v in values)
    if column["kind"] == "numeric" and numbers and (median is not None or None not in values):
        return np.array([median if v is None else _float(v) for v in values], np.float32)
    cells = pd.Series([None if v is None else str(v) for v in values], dtype=object)
    try:
        return column_values(column, cells, record.dataset.details)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def _missing(value: Any, markers: set[str]) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in markers)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: int | float) -> float:
    """A JSON number as a float; an integer past float64's range (JSON has none) is infinite."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _in_range(array: np.ndarray, values: list, name: str) -> np.ndarray:
    """A column's numbers, refused when one is not finite in float32 (past ±3.4e38)."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        index = int(np.flatnonzero(~np.isfinite(array))[0])
        raise BadRequest(
            f"Input {name!r} takes numbers between -{FLOAT32_MAX:.4g} and {FLOAT32_MAX:.4g} "
            f"(float32), or null for a missing value. Received: {_shown(values[index], 100)}"
        )
    return array


def _resize(record: RunRecord) -> str:
    return record.config.get("resize", "stretch")


def _keys(body: Any) -> str:
    return _shown(sorted(body), 200) if isinstance(body, dict) else _kind(body)


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {_shown(value, 80)}"


def _shown(value: Any, chars: int) -> str:
    """`repr(value)` cut to `chars`, without building the repr of a large or deep value."""
    return _SHORT_REPR.repr(value)[:chars]


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 4, 80, 80
