"""What `tfapps serve` accepts as a predict request's body, before any model sees it.

A body is read up to `--max-body-bytes` (refused as soon as it passes the limit, never
buffered past it), decoded as strict JSON (RFC 8259: UTF-8, no `NaN` or `Infinity`), and held
to `--max-instances` examples; the examples of a request larger than `--max-batch-size` are
split into pieces of at most that size, each one model call (`split_examples`). Every
prediction must be a finite number (`check_finite`). A body that breaks a limit answers HTTP
413 (`TooLarge`), anything else a client can send wrongly HTTP 400 (`BadRequest`, raised by
`serving_requests` too), each naming what was received and what is accepted. The module is
light (the CLI reads its defaults for `--help`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_BATCH = 64
BATCH_WAIT_SECONDS = 0.002
MAX_BODY_BYTES = 32 * 2**20
MAX_INSTANCES = 500_000
JSON_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded")


class BadRequest(Exception):
    """A request the model cannot take; the message names what was received and what is
    accepted (HTTP 400)."""


class TooLarge(Exception):
    """A request over one of the server's limits (HTTP 413); the message names the limit and
    what was received."""


@dataclass(frozen=True)
class ServingOptions:
    """How the server batches model calls, and how much one request may ask of it.

    Args:
        max_batch_size: examples per model call at most; a larger request is split into
            several calls. Defaults to `MAX_BATCH` (64).
        batch_wait: seconds a model call waits for requests still being read. Defaults to
            `BATCH_WAIT_SECONDS` (0.002).
        max_body_bytes: bytes a request body may hold. Defaults to `MAX_BODY_BYTES` (32 MiB).
        max_instances: examples one request may hold. Defaults to `MAX_INSTANCES` (500,000).
    """

    max_batch_size: int = MAX_BATCH
    batch_wait: float = BATCH_WAIT_SECONDS
    max_body_bytes: int = MAX_BODY_BYTES
    max_instances: int = MAX_INSTANCES


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """A request body, read until it passes `limit` bytes.

    Args:
        chunks: the body as it arrives (Starlette's `request.stream()`).
        declared: the request's Content-Length header, if it has one.
        limit: bytes the body may hold.

    Raises:
        TooLarge: a body (declared or read so far) over `limit` bytes.
    """
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(_too_large(f"{int(declared):,} bytes", limit))
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(_too_large(f"more than {limit:,} bytes", limit))
        parts.append(chunk)
    return b"".join(parts)


def _too_large(received: str, limit: int) -> str:
    return (
        f"Request body too large: {received}; the limit is {limit:,} bytes (--max-body-bytes). "
        "Send the instances in several requests."
    )


def decode_request(raw: bytes, content_type: str | None, max_instances: int) -> Any:
    """A predict request's body as JSON, for the `serving_default` signature, of at most
    `max_instances` examples.

    Args:
        raw: the body.
        content_type: its Content-Type header (see `decode_json`).
        max_instances: examples a request may hold.

    Raises:
        BadRequest: a body `decode_json` refuses, or another `signature_name`.
        TooLarge: more than `max_instances` examples.
    """
    body = decode_json(raw, content_type)
    signature = body.get("signature_name", "serving_default") if isinstance(body, dict) else ""
    if signature not in ("", "serving_default"):
        raise BadRequest(
            f"Serving signature name: {signature!r} not found in signature def; the "
            "served signature is 'serving_default'"
        )
    found = _examples(body)
    if found and found[2] > max_instances:
        raise TooLarge(
            f"Too many instances: {found[2]:,}; the limit is {max_instances:,} a request "
            "(--max-instances). Send them in several requests."
        )
    return body


def decode_json(raw: bytes, content_type: str | None) -> Any:
    """A body as JSON (RFC 8259; Python's `json` otherwise also reads `NaN` and `Infinity`).

    Args:
        raw: the body.
        content_type: its Content-Type header; anything JSON could be sent as (none, JSON,
            text, or curl's form default) is read, other types are named in the error.

    Raises:
        BadRequest: an empty body, one that is not UTF-8 JSON, is nested deeper than Python's
            parser goes (about 1,000 levels), or holds `NaN`, `Infinity`, `-Infinity` or an
            integer of more than 4,300 digits (Python's limit).
    """
    media = (content_type or "").split(";")[0].strip().lower()
    note = "" if not media or media in JSON_TYPES else f" (sent as {media}; the API takes JSON)"
    if not raw.strip():
        raise BadRequest(
            f"JSON Parse error: the request body is empty{note}; send a JSON object such as "
            '{"instances": [...]}.'
        )
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest(
            f"JSON Parse error: the body is nested too deeply{note}; a request is an object "
            "of lists a few levels deep."
        ) from None
    except UnicodeDecodeError as error:
        raise BadRequest(f"JSON Parse error: the body is not UTF-8 text{note}: {error}") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"JSON Parse error{note}: {error}") from None
    except ValueError:  # an integer past Python's limit on digits (sys.get_int_max_str_digits)
        raise BadRequest(
            f"JSON Parse error{note}: an integer of thousands of digits; numbers must be "
            "within float32's range (±3.4e38)."
        ) from None


def _refuse_constant(name: str) -> None:
    raise BadRequest(
        f"JSON Parse error: {name} is not a JSON value; numbers must be finite (send null for "
        "a missing value)."
    )


def _examples(body: Any) -> tuple[str, Any, int] | None:
    """`(key, values, count)` of a body whose examples can be counted and split: a list of
    `instances` or `inputs`, or `inputs` as an object of lists of one length."""
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        return None  # parse_request names what is wrong
    key = "instances" if "instances" in body else "inputs"
    values = body[key]
    if isinstance(values, list):
        return key, values, len(values)
    if isinstance(values, dict) and values and all(isinstance(v, list) for v in values.values()):
        lengths = {len(v) for v in values.values()}
        if len(lengths) == 1:
            return key, values, lengths.pop()
    return None


def split_examples(body: Any, size: int) -> Iterator[tuple[int, Any]]:
    """A body as bodies of at most `size` examples each.

    Args:
        body: the decoded request.
        size: examples a piece holds at most.

    Returns:
        `(index of the piece's first example, piece)` pairs, in order; a body that cannot be
        split (a malformed one included) is one piece.
    """
    found = _examples(body)
    if found is None or found[2] <= size:
        yield 0, body
        return
    key, values, count = found
    for start in range(0, count, size):
        if isinstance(values, list):
            piece = values[start : start + size]
        else:
            piece = {name: column[start : start + size] for name, column in values.items()}
        yield start, {**body, key: piece}


def example(body: Any, index: int) -> Any:
    """Example `index` of a body `split_examples` could split, as the client sent it."""
    key, values, _ = _examples(body)
    if isinstance(values, list):
        return values[index]
    return {name: column[index] for name, column in values.items()}


def check_finite(outputs: dict[str, np.ndarray], piece: Any, first: int) -> None:
    """Refuses a piece whose predictions are not all finite numbers.

    Args:
        outputs: the model's outputs for `piece`, `[examples, ...]` each.
        piece: the request body (or piece of it) they answer.
        first: the index of the piece's first example in the request.

    Raises:
        BadRequest: an example whose outputs hold NaN or infinity, named with its index
            and values.
    """
    from tfapps.finite_outputs import WHY, non_finite_rows

    for name, values in outputs.items():
        rows = non_finite_rows(values)
        if rows.size:
            index = int(rows[0])
            raise BadRequest(
                f"The model's {name!r} for instance {first + index} is not a finite number "
                f"({values[index].ravel().tolist()}): its input is {WHY}. "
                f"Received: {example(piece, index)!r:.200}"
            )


def render(body: dict) -> bytes:
    """A response body as compact UTF-8 JSON, as Starlette's `JSONResponse` renders it."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
