"""The classic text classifiers on token ids (Conv1D stacked or side by side, or a dense
average), the TextVectorization in front of them, and the choices they make for their texts.

The exported model chains the vectorizer and the classifier (keras-io
`text_classification_from_scratch.py`), so it takes raw strings; the last layer is named
`predictions` and computes in float32. `import tfapps.tasks.text_model` registers the custom
objects a sentiment model.keras names (`standardize_text`, `TrimPadding`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import layers

from tfapps.runs import VOCABULARY_TXT
from tfapps.tasks.classifiers import classifier_head
from tfapps.tasks.text_standardization import preprocessing_note, standardize_text
from tfapps.token_batches import TokenCut

if TYPE_CHECKING:
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord

DENSE_UNITS = 128


def build_text_vectorizer(max_tokens: int = 20000, sequence_length: int = 500):
    """Returns an unadapted TextVectorization layer using `text_standardization.standardize_text`
    (tokens in every script, inside the model).

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
SEQUENCE_LIMITS = (16, 500)  # the automatic --sequence-length keeps 99% of texts whole within


def auto_conv_layout(median_tokens: float) -> str:
    """`"parallel"` for short texts (a median of at most `SHORT_TEXT_TOKENS` tokens, such as
    sentences), `"stacked"` for longer ones (reviews).

    Args:
        median_tokens: the training texts' median length in tokens (`TextSpec`).
    """
    return "parallel" if median_tokens <= SHORT_TEXT_TOKENS else "stacked"


def auto_sequence_length(long_tokens: float) -> int:
    """Tokens kept per text: the 0.99 quantile of the training texts' lengths, within
    `SEQUENCE_LIMITS` (IMDB reviews: 500; one-line sentences: a few dozen).

    Args:
        long_tokens: the 0.99 quantile of the training texts' lengths in tokens
            (`TextSpec.long_tokens`).
    """
    low, high = SEQUENCE_LIMITS
    return int(min(high, max(low, np.ceil(long_tokens))))


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
            classifier_head(x, num_classes, binary_sigmoid=True),
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
        classifier_head(x, num_classes, binary_sigmoid=True),
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


def token_part(model: keras.Model, record: RunRecord) -> Part:
    """The text model's classifier on token ids, for formats without TensorFlow's string ops
    (ONNX, LiteRT): it takes `int64 [batch, sequence_length]`, with vocabulary.txt and a
    preprocessing.txt that says exactly how a text becomes ids."""
    import tensorflow as tf

    from tfapps.export_parts import Part

    vectorizer = model.get_layer("vectorizer")
    classifier = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    length = vectorizer.get_config()["output_sequence_length"]
    spec = tf.TensorSpec((None, length), tf.int64, name="tokens")
    names = record.dataset.class_names
    outputs = f"P({names[1]}), one column" if len(names) == 2 else "one probability a class"
    note = (
        f"token_model takes token ids, int64 [batch, {length}], and returns what the run's "
        f"model returns ({outputs}; classes in order: {', '.join(names)}).\n\n"
        + preprocessing_note(length)
    )
    return Part(
        model=classifier,
        signature=[spec],
        stem="token_model",
        takes=f"token ids, int64 [batch, {length}] (see preprocessing.txt and vocabulary.txt)",
        encode=lambda texts: {"tokens": vectorizer(tf.constant(texts)).numpy().astype(np.int64)},
        classifier=True,
        notes={"preprocessing.txt": note},
        copies=[VOCABULARY_TXT],
        run_dir=record.directory,
    )
