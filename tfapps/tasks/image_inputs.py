"""Images for a finished image-classify run, from what a user gives `tfapps predict` or sends
`tfapps serve` (`served_image`).

Every image goes through the training reader (`data.images.read_image`) with the run's input
size, channels and resize rule. `tfapps predict` takes image files of any format and size
Pillow reads, and folders, walked as training walks them (`folder_walk.walk_files`; other
files there are skipped with a warning); a served image is a uint8 array of the input's
shape, or `{"b64": <an image file>}`.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from typing import TYPE_CHECKING

import numpy as np

from tfapps.data.folder_walk import walk_files
from tfapps.data.images import ImageReadError, read_image
from tfapps.data.summary import Skipped, skipped_line
from tfapps.errors import InvalidInput
from tfapps.raw_inputs import as_path, shown
from tfapps.runs import RunRecord

if TYPE_CHECKING:
    from tfapps.serving_requests import InputSpec

log = logging.getLogger("tfapps")


def image_inputs(
    record: RunRecord, input_name: str, inputs: list[str]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Image files and folders of them as the model's uint8 input.

    Args:
        record: the run's record (its input shape and resize rule).
        input_name: the model's input.
        inputs: files and folders, as given.

    Returns:
        `(each image's file, {input_name: uint8 images [n, height, width, channels]})`.

    Raises:
        InvalidInput: an input that is neither an image file nor a folder, an image file
            that cannot be read, or no readable image at all.
    """
    spec = record.dataset.spec
    height, width, channels = spec.input_shape
    names, arrays, skipped = [], [], Skipped()
    for item in inputs:
        path = as_path(item)
        if path is None:
            raise InvalidInput(
                f"{shown(item)!r} is not an image file or folder; this image-classify "
                f"model ({record.run_id}) takes images (png, jpg, bmp, gif, webp, tif, ...)."
            )
        for file in walk_files(path, skipped) if path.is_dir() else [path]:
            try:
                arrays.append(read_image(file, (height, width), channels, spec.resize))
            except ImageReadError as error:
                if not path.is_dir():
                    raise InvalidInput(str(error)) from None
                skipped.add(error.reason, file)
                continue
            names.append(str(file))
    if skipped.counts:
        log.warning(skipped_line(skipped.to_dict(), "file"))
    if not arrays:
        raise InvalidInput(f"No readable images in {', '.join(map(shown, inputs))}.")
    return names, {input_name: np.stack(arrays)}


def served_image(value, spec: InputSpec, record: RunRecord) -> np.ndarray:
    """One image of a TF Serving request: a uint8 array of the input's shape, or
    `{"b64": <an image file>}` decoded and fitted exactly as in training.

    Args:
        value: the request's value for one example.
        spec: the served input (its name and shape).
        record: the run's record (its resize rule).

    Raises:
        BadRequest: a value that is not such an image, named.
    """
    from tfapps.serving_bodies import BadRequest
    from tfapps.serving_requests import kind_of
    from tfapps.serving_requests import shown as shown_value

    height, width, channels = spec.shape
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            data = base64.b64decode(value["b64"], validate=True)
            resize = record.dataset.spec.resize
            return read_image(io.BytesIO(data), (height, width), channels, resize)
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f'Input {spec.name!r}: "b64" must hold base64 text.') from None
        except ImageReadError as error:
            raise BadRequest(f"Input {spec.name!r}: {error.said_of('the b64 image')}.") from None
    accepted = f'uint8 images of shape {list(spec.shape)} or {{"b64": <an image file>}}'
    try:
        array = np.asarray(value, dtype=object)
    except ValueError:  # nested deeper than NumPy's 64 dimensions
        raise BadRequest(
            f"Input {spec.name!r} takes {accepted}. Received: {kind_of(value)}"
        ) from None
    if array.shape != spec.shape:
        raise BadRequest(
            f"Input {spec.name!r} takes {accepted}. Received: an array of shape "
            f"{shown_value(list(array.shape), 100)}"
        )
    try:
        numbers = array.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise BadRequest(
            f"Input {spec.name!r} takes integers 0-255. Received: {shown_value(value, 100)}"
        ) from None
    if not ((numbers >= 0) & (numbers <= 255) & (numbers == np.round(numbers))).all():
        raise BadRequest(f"Input {spec.name!r} takes integers 0-255.")
    return numbers.astype(np.uint8)
