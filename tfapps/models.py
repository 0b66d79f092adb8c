"""The classic Keras architectures, built with the functional API, preprocessing inside.

Because preprocessing lives in the model, the exported model eats raw input. Each model's last
layer is named `predictions` and computes in float32, so mixed precision stays numerically safe.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

from tfapps.token_batches import TokenCut

DENSE_UNITS = 128
SMALL_IMAGE = 32  # inputs up to this many pixels on their longer side: filters 32, 64
FEATURE_MAP = 12  # larger inputs: blocks until the feature map is at most this many pixels
WIDEST_BLOCK = 64  # 128 in the 4th block cost 5% of the photos' speed, for 0.01 of accuracy
AUGMENT_FROM = 64  # augmentation is on by default from this many pixels on the shorter side


def auto_filters(input_shape: Sequence[int]) -> tuple[int, ...]:
    """The default Conv2D filters per block for an input size.

    `(32, 64)` for inputs up to `SMALL_IMAGE` pixels on their longer side (8x8 digits,
    28x28 MNIST). Larger inputs get one block per halving of their longer side until the
    feature map is at most `FEATURE_MAP` pixels (at least 2 blocks), with 16 filters in
    the first block, twice as many in each next one, at most `WIDEST_BLOCK`: 180x180 photos
    get 16, 32, 64, 64 (feature map 11x11), as fast as TensorFlow's tutorial model (16, 32,
    64 and a Dense(128)) on 2 CPU cores, where 16, 32, 64, 128 took 5% longer.

    Args:
        input_shape: `(height, width, channels)`.
    """
    height, width = input_shape[:2]
    if max(height, width) <= SMALL_IMAGE:
        return (32, 64)
    side, blocks = max(height, width), 0
    while side > FEATURE_MAP:
        side, blocks = side // 2, blocks + 1
    return tuple(min(16 * 2**block, WIDEST_BLOCK) for block in range(max(2, blocks)))


PHOTO_EPOCHS = 15  # TensorFlow's image classification tutorial trains its flowers 15 epochs
SMALL_IMAGE_EPOCHS = 40


def auto_epochs(input_shape: Sequence[int]) -> int:
    """The default maximum epochs of an image classifier: `SMALL_IMAGE_EPOCHS` (40) for inputs
    up to `SMALL_IMAGE` pixels on their longer side, where an epoch takes a second (digits
    keep improving for 40), and `PHOTO_EPOCHS` (15) for larger ones."""
    return SMALL_IMAGE_EPOCHS if max(input_shape[:2]) <= SMALL_IMAGE else PHOTO_EPOCHS


def auto_augment(input_shape: Sequence[int]) -> bool:
    """Whether augmentation is on by default: for inputs of at least `AUGMENT_FROM` pixels on
    their shorter side (photos), not for smaller ones (a flipped digit is another digit)."""
    return min(input_shape[:2]) >= AUGMENT_FROM


def build_image_classifier(
    input_shape: Sequence[int],
    num_classes: int,
    filters: Sequence[int] | None = None,
    dropout: float = 0.5,
    architecture: str = "conv",
    augment: bool = False,
) -> keras.Model:
    """Builds Rescaling → [augmentation] → [Conv2D → MaxPooling2D] × k → Flatten → Dropout →
    Dense(softmax).

    Convolutions use "same" padding and a block pools only while the feature map is at least
    2 pixels wide, so even 8x8 inputs take several blocks. The `"dense"` architecture replaces
    the convolutions with Flatten → Dense(128, relu), for comparison.

    Augmentation is RandomFlip("horizontal") → RandomRotation(0.1) → RandomZoom(0.1), as in
    TensorFlow's image classification tutorial; Keras runs these layers only in training, so
    the model computes the same outputs with or without them at inference.

    Args:
        input_shape: `(height, width, channels)` of the uint8 images.
        num_classes: number of classes of the softmax layer.
        filters: Conv2D filters of each block. Defaults to `auto_filters(input_shape)`.
        dropout: dropout rate before the classifier. Defaults to 0.5.
        architecture: `"conv"` or `"dense"`. Defaults to `"conv"`.
        augment: add the augmentation layers. Defaults to False.

    Example:

    >>> model = build_image_classifier((8, 8, 1), 10)
    >>> model.output_shape
    (None, 10)
    """
    inputs = keras.Input(shape=tuple(input_shape), dtype="uint8", name="images")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    if augment:
        x = layers.RandomFlip("horizontal", name="random_flip")(x)
        x = layers.RandomRotation(0.1, name="random_rotation")(x)
        x = layers.RandomZoom(0.1, name="random_zoom")(x)
    if architecture == "conv":
        for block, units in enumerate(filters or auto_filters(input_shape), start=1):
            x = layers.Conv2D(units, 3, padding="same", activation="relu", name=f"conv{block}")(x)
            if min(x.shape[1], x.shape[2]) >= 2:
                x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
        x = layers.Flatten(name="flatten")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(DENSE_UNITS, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(
        inputs,
        _classifier_head(x, num_classes, binary_sigmoid=False),
        name=f"image_{architecture}_classifier",
    )


def _classifier_head(x, num_classes: int, binary_sigmoid: bool):
    """The float32 output layer named "predictions": one sigmoid unit, or a softmax."""
    binary = binary_sigmoid and num_classes == 2
    return layers.Dense(
        1 if binary else num_classes,
        activation="sigmoid" if binary else "softmax",
        dtype="float32",
        name="predictions",
    )(x)


@keras.saving.register_keras_serializable(package="tfapps", name="standardize_text")
def standardize_text(texts):
    """Lower-cases, turns HTML line breaks (`<br />`) and punctuation into spaces."""
    import tensorflow as tf

    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\w\s]", " ")


def build_text_vectorizer(max_tokens: int = 20000, sequence_length: int = 500):
    """Returns an unadapted TextVectorization layer using `standardize_text`.

    Args:
        max_tokens: vocabulary size, padding and out-of-vocabulary tokens included.
            Defaults to 20000.
        sequence_length: tokens per text after padding or cutting. Defaults to 500.
    """
    return layers.TextVectorization(
        max_tokens=max_tokens,
        output_sequence_length=sequence_length,
        standardize=standardize_text,
        name="vectorizer",
    )


SHORT_TEXT_TOKENS = 50  # texts whose median length is at most this many tokens are short
PARALLEL_KERNELS = (3, 4, 5)  # Kim (2014), "Convolutional Neural Networks for Sentence
PARALLEL_FILTERS = 100  # Classification", EMNLP 2014: 100 feature maps per kernel size
SEQUENCE_QUANTILE = 0.99  # the automatic --sequence-length keeps 99% of texts whole...
SEQUENCE_LIMITS = (16, 500)  # ...within these bounds


def auto_conv_layout(token_counts: np.ndarray) -> str:
    """`"parallel"` for short texts (a median of at most `SHORT_TEXT_TOKENS` tokens, such as
    sentences), `"stacked"` for longer ones (reviews)."""
    return "parallel" if np.median(token_counts) <= SHORT_TEXT_TOKENS else "stacked"


def auto_sequence_length(token_counts: np.ndarray) -> int:
    """Tokens kept per text: the `SEQUENCE_QUANTILE` of the training texts' lengths, within
    `SEQUENCE_LIMITS` (IMDB reviews: 500; one-line sentences: a few dozen)."""
    low, high = SEQUENCE_LIMITS
    return int(min(high, max(low, np.ceil(np.quantile(token_counts, SEQUENCE_QUANTILE)))))


def build_text_classifier(
    vocabulary_size: int,
    sequence_length: int,
    num_classes: int,
    embedding_dim: int = 128,
    dropout: float = 0.5,
    architecture: str = "conv",
    conv_layout: str = "stacked",
) -> keras.Model:
    """Builds a Conv1D text classifier on token ids, with a Dense(1, sigmoid) or Dense(k,
    softmax) head named "predictions".

    - `"stacked"` (long texts): Embedding → Dropout → Conv1D(128, 7, strides 3) ×2 →
      GlobalMaxPooling1D → Dense(128) → Dropout → head. It accepts token sequences of any
      length, so that it can train on batches cut to the padding they need
      (`tfapps.token_batches`).
    - `"parallel"` (short texts, Kim's sentence CNN): Embedding → [Conv1D(100, k) →
      GlobalMaxPooling1D] for k in 3, 4, 5 side by side → Concatenate → Dropout → head; every
      window of one stride sees a sentence's words. As in Kim (2014), the dropout is on the
      pooled features only: on the Rotten Tomatoes sentences, embedding dropout and a hidden
      Dense(128) lowered the median test accuracy over 5 seeds from 0.777 to 0.761.
    - The `"dense"` architecture replaces the convolutions and max pooling with
      GlobalAveragePooling1D, for comparison; it averages over the padding too, so it takes
      `sequence_length` tokens only.

    Args:
        vocabulary_size: number of token ids the embedding accepts.
        sequence_length: tokens per text of the `"dense"` and `"parallel"` models.
        num_classes: 2 gives a single sigmoid unit; more give a softmax.
        embedding_dim: width of the embedding. Defaults to 128.
        dropout: dropout rate after the embedding and before the classifier. Defaults to 0.5.
        architecture: `"conv"` or `"dense"`. Defaults to `"conv"`.
        conv_layout: `"stacked"` or `"parallel"` (`"conv"` only). Defaults to `"stacked"`.
    """
    stacked = architecture == "conv" and conv_layout == "stacked"
    length = None if stacked else sequence_length
    inputs = keras.Input(shape=(length,), dtype="int64", name="tokens")
    x = layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(inputs)
    if architecture == "conv" and not stacked:
        branches = [
            layers.GlobalMaxPooling1D(name=f"global_max_pool{k}")(
                layers.Conv1D(PARALLEL_FILTERS, k, activation="relu", name=f"conv{k}")(x)
            )
            for k in PARALLEL_KERNELS
        ]
        x = layers.Dropout(dropout, name="dropout")(layers.Concatenate(name="features")(branches))
        return keras.Model(
            inputs,
            _classifier_head(x, num_classes, binary_sigmoid=True),
            name="text_parallel_conv_classifier",
        )
    x = layers.Dropout(dropout, name="embedding_dropout")(x)
    if stacked:
        for block in (1, 2):
            x = layers.Conv1D(
                128, 7, strides=3, padding="same", activation="relu", name=f"conv{block}"
            )(x)
        x = layers.GlobalMaxPooling1D(name="global_max_pool")(x)
    else:
        x = layers.GlobalAveragePooling1D(name="global_average_pool")(x)
    x = layers.Dense(DENSE_UNITS, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(
        inputs,
        _classifier_head(x, num_classes, binary_sigmoid=True),
        name=f"text_{architecture}_classifier",
    )


def build_end_to_end(
    vectorizer, classifier: keras.Model, name: str, trim: TokenCut | None = None
) -> keras.Model:
    """Chains a preprocessing layer and a trained model into one model that takes raw input.

    Args:
        vectorizer: the TextVectorization layer.
        classifier: the model on token ids.
        name: the model's name.
        trim: a `TokenCut` whose rule leaves `classifier`'s outputs unchanged: each batch of
            token ids is cut to the padding its longest text needs (`TrimPadding`), so a short
            review is not convolved over hundreds of padding tokens. Defaults to none.
    """
    raw = keras.Input(shape=(), dtype="string", name="texts")
    tokens = vectorizer(raw)
    if trim is not None:
        tokens = TrimPadding(trim.full_length, trim.period, trim.margin, name="trim")(tokens)
    return keras.Model(raw, classifier(tokens), name=name)


@keras.saving.register_keras_serializable(package="tfapps", name="TrimPadding")
class TrimPadding(keras.layers.Layer):
    """Cuts a batch of token ids to the padding its longest text needs (`TokenCut.cut`).

    The stacked conv classifier computes the same outputs on the cut batch as on the full one
    (`token_batches`), in a fraction of the time for short texts.

    Args:
        full_length: tokens per text as the vectorizer pads them.
        period: the product of the convolution strides.
        margin: padding tokens kept after the longest text.
    """

    def __init__(self, full_length: int, period: int, margin: int, **kwargs):
        super().__init__(**kwargs)
        self.cut = TokenCut(full_length, period, margin)

    def call(self, tokens):
        import tensorflow as tf

        return self.cut.cut(tokens, tf.zeros(0))[0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self) -> dict:
        cut = self.cut
        return {
            **super().get_config(),
            "full_length": cut.full_length,
            "period": cut.period,
            "margin": cut.margin,
        }


# A target is standardized inside the model when its training mean or standard deviation is
# larger than this: the plain Dense(1) head, starting near 0 and moved by Adam about 1e-3 a
# step, reaches targets such as Auto MPG's (mean 23) and diabetes' (mean 152) within its
# epochs, but not prices near 1,000,000 (it ended worse than predicting the mean).
TARGET_SCALE_ABOVE = 1000.0


def target_scaling(train_targets: np.ndarray) -> tuple[float, float] | None:
    """`(mean, standard deviation)` of the training targets when either is beyond
    `TARGET_SCALE_ABOVE` (1,000) in magnitude, else `None` (the model predicts the target
    as it is)."""
    mean, std = float(np.mean(train_targets)), float(np.std(train_targets))
    if max(abs(mean), std) <= TARGET_SCALE_ABOVE:
        return None
    return mean, std if std > 0 else 1.0


def build_regressor(
    train_features: dict[str, np.ndarray],
    categorical: Sequence[str] = (),
    hidden_units: Sequence[int] = (64, 64),
    target_scale: tuple[float, float] | None = None,
) -> keras.Model:
    """Builds one named input per column → StringLookup(one-hot) for categorical columns →
    Concatenate → Normalization → Dense(relu) × n → Dense(1) [→ Rescaling].

    Every encoded column, numeric and one-hot alike, is scaled to the training split's mean
    and variance (as TensorFlow's regression tutorial does; on Auto MPG, unscaled one-hot
    columns gave a worse test MAE). A column constant in training (such as the
    out-of-vocabulary one) is only centred, so an unseen category cannot blow up.

    Args:
        train_features: input name to the training split's values (float32 for numeric
            columns, strings for categorical ones).
        categorical: input names of the categorical columns. Defaults to none.
        hidden_units: units of each hidden Dense(relu) layer. Defaults to `(64, 64)`.
        target_scale: `(mean, std)` of the training targets (`target_scaling`); when given,
            Dense(1) predicts the standardized target and a Rescaling layer maps it back
            (`y = z * std + mean`), so the model still outputs the target in its units.
            Defaults to `None` (no Rescaling).
    """
    inputs = {
        name: keras.Input(shape=(), dtype="string" if name in categorical else "float32", name=name)
        for name in train_features
    }
    encoders = {}
    for name in train_features:
        if name in categorical:
            lookup = layers.StringLookup(output_mode="one_hot", name=f"{name}_lookup")
            lookup.adapt(train_features[name])
            encoders[name] = lookup
        else:
            encoders[name] = layers.Reshape((1,), name=f"{name}_column")

    def encode(columns):
        encoded = [encoders[name](columns[name]) for name in train_features]
        return layers.Concatenate(name="features")(encoded) if len(encoded) > 1 else encoded[0]

    train_matrix = keras.ops.convert_to_numpy(
        encode({name: keras.ops.convert_to_tensor(v) for name, v in train_features.items()})
    )
    variance = train_matrix.var(axis=0)
    normalization = layers.Normalization(
        mean=train_matrix.mean(axis=0),
        variance=np.where(variance > 0, variance, 1.0),
        name="normalization",
    )
    x = normalization(encode(inputs))
    for index, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
    if target_scale is None:
        outputs = layers.Dense(1, dtype="float32", name="predictions")(x)
    else:
        mean, std = target_scale
        x = layers.Dense(1, dtype="float32", name="standardized")(x)
        outputs = layers.Rescaling(std, offset=mean, dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="regressor")
