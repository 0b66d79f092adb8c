"""The Keras applications as backbones: their ImageNet file, preprocessing every format holds.

Keras downloads an application's ImageNet weights itself only when it builds the model, with
`weights="imagenet"`; here the file is fetched first with `keras.utils.get_file` (the same
name in the same cache, `~/.keras/models`), so a machine without internet gets one line that
says where the file is, and the same code then loads a file the user brings.

Keras' EfficientNets normalize their input with a `Normalization` layer, whose mean and
variance Keras' ONNX exporter turns into inputs of the graph (the model then asks for them at
every call). The same arithmetic is done here by a `Rescaling` layer: EfficientNetV2B0 is built
without its own preprocessing behind one, and EfficientNetB0's `Normalization` (which it always
has) is swapped for one after its weights are loaded.
"""

from __future__ import annotations

import numpy as np

from tfapps.backbones import WEIGHTS_OPTION, Backbone, first_line
from tfapps.errors import InvalidInput

# ImageNet's per-channel mean and standard deviation of pixels scaled to [0, 1] (RGB), as
# EfficientNetV2B0's include_preprocessing normalizes.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STDDEV = (0.229, 0.224, 0.225)
# EfficientNetB0's ImageNet file holds those standard deviations as the Normalization layer's
# variance; keras.applications divides by their square root once more when it loads the file
# itself (tensorflow/tensorflow#49930), and so does the Rescaling that replaces the layer here.
EFFICIENTNET_B0_VARIANCE_FACTOR = IMAGENET_STDDEV


def weights_file(name: str, spec: Backbone, weights_path) -> str:
    """The user's file, or the ImageNet file at `spec.weights_url`, downloaded once into
    Keras' cache.

    Raises:
        InvalidInput: the download failed (one line: where to get the file, how to pass it).
    """
    import keras

    if weights_path is not None:
        return str(weights_path)
    url = spec.weights_url
    try:
        return keras.utils.get_file(spec.weights_file_name, url, cache_subdir="models")
    except Exception as error:  # get_file raises a bare Exception for every fetch failure
        reason = first_line(getattr(error.__context__, "reason", error))
        raise InvalidInput(
            f"The ImageNet weights of --backbone {name} could not be downloaded ({reason}); "
            f"download {url} where there is internet and pass the file with "
            f"{WEIGHTS_OPTION} PATH."
        ) from error


def _rescaling(mean, stddev, name: str):
    """`(x - mean) / stddev` per channel as one Rescaling layer."""
    from keras import layers

    mean, stddev = np.asarray(mean, np.float64), np.asarray(stddev, np.float64)
    return layers.Rescaling((1.0 / stddev).tolist(), offset=(-mean / stddev).tolist(), name=name)


def _normalization_as_rescaling(model, variance_factor):
    """The model with its Normalization layer replaced by the Rescaling that computes it,
    every other layer shared (`keras.models.clone_model`)."""
    import keras
    from keras import layers

    normalization = next(la for la in model.layers if isinstance(la, layers.Normalization))
    mean, variance = normalization.get_weights()[:2]
    stddev = np.sqrt(variance.astype(np.float64) * variance_factor)
    replacement = _rescaling(mean, stddev, normalization.name)
    return keras.models.clone_model(
        model, clone_function=lambda layer: replacement if layer is normalization else layer
    )


def build_application(name: str, spec, images, weights_path=None, pretrained: bool = False):
    """Builds a Keras application on `images` (values 0-255), its ImageNet weights loaded.

    Args:
        name: the backbone's name in `tfapps.backbones.BACKBONES`.
        spec: its `Backbone` entry.
        images: the RGB images, a symbolic tensor from a `keras.Input`.
        weights_path: the user's weights file, or `None` to download the ImageNet file.
            Defaults to `None`.
        pretrained: whether to load the weights at all (`False`: random). Defaults to `False`.

    Returns:
        A functional model from the `keras.Input` of `images` to the last feature map.

    Raises:
        InvalidInput: the weights cannot be had or are not this application's.
    """
    import keras

    application = getattr(keras.applications, spec.application)
    options = {"include_top": False, "weights": None}
    if name == "efficientnet_v2_b0":
        images = _rescaling(
            np.multiply(IMAGENET_MEAN, 255),
            np.multiply(IMAGENET_STDDEV, 255),
            "imagenet_normalization",
        )(images)
        options["include_preprocessing"] = False
    model = application(input_tensor=images, **options)
    if pretrained:
        path = weights_file(name, spec, weights_path)
        try:
            model.load_weights(path)
        except (ValueError, OSError, KeyError) as error:
            raise InvalidInput(
                f"{WEIGHTS_OPTION} {path}: not the weights of {spec.application} without its "
                f"classifier ({first_line(error)}); expected the file {spec.weights_url}."
            ) from error
    if name == "efficientnet_b0":
        factor = EFFICIENTNET_B0_VARIANCE_FACTOR if pretrained else 1.0
        model = _normalization_as_rescaling(model, np.asarray(factor))
    return model
