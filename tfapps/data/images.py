"""The one image reader: open, orient, convert and fit an image file to a model's input.

Training on a folder, `tfapps evaluate`, `tfapps predict` and `tfapps serve` all read images
through `read_image`, so a photo is turned into the same pixels wherever it is used. Pillow
does the work (`Image.open` knows every common format whatever the file's suffix says:
PNG, JPEG, BMP, GIF, WebP, TIFF, ...). No TensorFlow here.

What `read_image` does, in order:

1. `Image.draft` lets the JPEG decoder scale a large photo down by 1/2, 1/4 or 1/8 while
   decoding (never below the target size), so a 4000×3000 photo never exists at full size.
2. The EXIF orientation is applied (`ImageOps.exif_transpose`), as photo viewers do.
3. 16-bit and 32-bit images are scaled to 8 bits over their type's range (a 16-bit value v
   becomes round(v / 257)), not clipped; float images in [0, 1] are scaled by 255.
4. Transparent pixels are laid over white; the image becomes grayscale (`"L"`, 1 channel) or
   RGB (3 channels).
5. The image is fitted to `(height, width)` by the resize rule (`RESIZE_RULES`), with
   Pillow's bilinear filter (antialiased when shrinking).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tfapps.data.specs import RESIZE_RULES  # the rules `fit_to_size` knows

__all__ = [
    "RESIZE_RULES",
    "ImageReadError",
    "fit_array",
    "fit_to_size",
    "open_image",
    "read_image",
]

GRAYSCALE_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits per pixel
MAX_8_BIT, MAX_16_BIT = 255, 65535


NOT_AN_IMAGE = "not an image Pillow can read"
EMPTY_FILE = "an empty file"
TOO_LARGE = "larger than Pillow's decompression-bomb limit"
CORRUPT = "cannot be decoded (truncated or corrupt)"
UNREADABLE = "cannot be opened"


class ImageReadError(Exception):
    """An image file that Pillow cannot open or decode.

    Args:
        path: the file.
        reason: one of `NOT_AN_IMAGE`, `EMPTY_FILE`, `TOO_LARGE`, `CORRUPT`, `UNREADABLE`
            (skipped files are grouped by it).
        detail: Pillow's own message, if any. Defaults to none.
    """

    def __init__(self, path: Path, reason: str, detail: str = "") -> None:
        super().__init__(f"Cannot read image {path}: {reason}" + (f" ({detail})" if detail else ""))
        self.path, self.reason, self.detail = path, reason, detail

    def said_of(self, subject: str) -> str:
        """The reason as a sentence about `subject`: `the b64 image is an empty file`, `the
        b64 image cannot be opened`."""
        verb = "" if self.reason.startswith("cannot ") else "is "
        return f"{subject} {verb}{self.reason}"


def open_image(path: Path | BinaryIO):
    """Opens an image file (a path, or a binary file object such as `io.BytesIO`) lazily, only
    its header read, and returns the Pillow image.

    Images over Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`, 178,956,970
    pixels) are refused before any pixel is decoded.

    Raises:
        ImageReadError: the file is not an image Pillow can read, is empty, or is too large.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(path, TOO_LARGE, str(error)) from None
    except UnidentifiedImageError:
        raise ImageReadError(path, EMPTY_FILE if _is_empty(path) else NOT_AN_IMAGE) from None
    except (PermissionError, FileNotFoundError, IsADirectoryError) as error:
        raise ImageReadError(path, UNREADABLE, error.strerror or str(error)) from None
    except OSError as error:  # a header cut short, or corrupt
        raise ImageReadError(path, CORRUPT, str(error)) from None


def read_image(
    path: Path | BinaryIO, size: tuple[int, int], channels: int, resize: str = "stretch"
) -> np.ndarray:
    """Reads an image file as the model's input.

    Args:
        path: any image file Pillow reads, as a path or a binary file object.
        size: `(height, width)` of the result, in pixels.
        channels: 1 (grayscale) or 3 (RGB).
        resize: how an image of another aspect ratio is fitted, one of `RESIZE_RULES`.
            Defaults to `"stretch"`.

    Returns:
        `uint8` array of shape `[height, width, channels]`.

    Raises:
        ImageReadError: the file cannot be opened or decoded (truncated, corrupt, too large).
    """
    from PIL import Image, ImageOps

    image = open_image(path)
    try:
        with image:
            longest = max(size)
            image.draft("L" if channels == 1 else "RGB", (longest, longest))
            image.load()  # decodes, so that a corrupt file fails here
            ImageOps.exif_transpose(image, in_place=True)
            pixels = np.asarray(fit_to_size(as_8_bit(image, channels), size, resize), np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(path, CORRUPT, str(error)) from None
    return pixels.reshape(size[0], size[1], channels)


def as_8_bit(image, channels: int):
    """Returns the Pillow image as 8-bit `"L"` (1 channel) or `"RGB"` (3 channels).

    Wide images (16-bit, 32-bit integer, float) are scaled over their range, not clipped;
    transparent pixels are laid over white.
    """
    from PIL import Image

    if image.mode in WIDE_MODES:
        image = Image.fromarray(_scaled_to_8_bit(np.asarray(image), image.mode), mode="L")
    if image.mode in ("LA", "La", "RGBA", "RGBa", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    mode = "L" if channels == 1 else "RGB"
    return image if image.mode == mode else image.convert(mode)


def _scaled_to_8_bit(values: np.ndarray, mode: str) -> np.ndarray:
    values = values.astype(np.float64)
    if mode == "F":
        top = 1.0 if values.size and np.nanmax(values) <= 1.0 else MAX_8_BIT
    elif mode == "I" and (values.size == 0 or values.max() <= MAX_8_BIT):
        top = MAX_8_BIT  # 8-bit values stored as 32-bit integers
    else:
        top = MAX_16_BIT
    scaled = np.nan_to_num(values) * (MAX_8_BIT / top)
    return np.clip(np.round(scaled), 0, MAX_8_BIT).astype(np.uint8)


def fit_to_size(image, size: tuple[int, int], resize: str):
    """Fits a Pillow image to `(height, width)`.

    Args:
        image: the Pillow image.
        size: `(height, width)` in pixels.
        resize: `"stretch"` scales each side to the target (the aspect ratio may change, as
            Keras' `image_dataset_from_directory` does by default); `"crop"` scales the image
            to cover the target and cuts the overflow evenly from both sides (the centre is
            kept); `"pad"` scales it to fit inside and fills the rest with black.
    """
    from PIL import Image, ImageOps

    height, width = size
    if image.size == (width, height):
        return image
    bilinear = Image.Resampling.BILINEAR
    if resize == "crop":
        return ImageOps.fit(image, (width, height), bilinear)
    if resize == "pad":
        return ImageOps.pad(image, (width, height), bilinear, color=0)
    return image.resize((width, height), bilinear)


def fit_array(pixels: np.ndarray, size: tuple[int, int], resize: str = "stretch") -> np.ndarray:
    """Fits decoded uint8 pixels (such as a TFDS image) to `(height, width)` exactly as
    `read_image` fits a file (`fit_to_size`), so a TFDS dataset of varied sizes is seen in
    training as `tfapps predict` and `tfapps serve` see its images.

    Args:
        pixels: `uint8` array `[height, width, channels]`, 1 or 3 channels.
        size: `(height, width)` of the result, in pixels.
        resize: one of `RESIZE_RULES`. Defaults to `"stretch"`.

    Returns:
        `uint8` array of shape `[size[0], size[1], channels]`.
    """
    from PIL import Image

    channels = pixels.shape[-1]
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    fitted = np.asarray(fit_to_size(image, size, resize), np.uint8)
    return fitted.reshape(size[0], size[1], channels)


def is_grayscale(mode: str) -> bool:
    """True for Pillow modes that hold one channel of intensity (8-bit, 16-bit, float)."""
    return mode in GRAYSCALE_MODES


def _is_empty(source) -> bool:
    if hasattr(source, "getbuffer"):  # an image file in memory, such as a served request's
        return source.getbuffer().nbytes == 0
    try:
        return Path(source).stat().st_size == 0
    except OSError:
        return False
