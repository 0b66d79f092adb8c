"""The classic text classifiers on token ids (Conv1D stacked or side by side, or a dense
average), the TextVectorization in front of them, the choices they make for their texts, and
their compiled `TaskModel` (`sequence_task_model`).

The exported model chains the vectorizer and the classifier (keras-io
`text_classification_from_scratch.py`), so it takes raw strings; the last layer is named
`predictions` and computes in float32. `import tfapps.tasks.text_model` registers the custom
objects a sentiment model.keras names (`standardize_text`, `TrimPadding`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import layers

from tfapps.runs import VOCABULARY_TXT
from tfapps.tasks.classifiers import classifier_head, classifier_loss
from tfapps.tasks.task_model import TaskModel, compile_model
from tfapps.tasks.text_standardization import standardize_text
from tfapps.token_batches import TokenCut

if TYPE_CHECKING:
    import tensorflow as tf

    from tfapps.data.specs import TextSpec
    from tfapps.pipeline import Batcher
    from tfapps.tasks.text import SentimentConfig

DENSE_UNITS = 128
WORD_VOCABULARY = 20000  # the automatic --max-tokens of conv and dense (keras-io's IMDB recipe)


def build_text_vectorizer(max_tokens: int = WORD_VOCABULARY, sequence_length: int = 500):
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
STACKED_KERNELS = (7, 7)  # keras-io text_classification_from_scratch.py: Conv1D(128, 7, 3) x2
STACKED_FILTERS = 128
SEQUENCE_LIMITS = (16, 500)  # the automatic --sequence-length keeps 99% of texts whole within


def auto_conv_layout(median_tokens: float) -> str:
    """`"parallel"` for short texts (a median of at most `SHORT_TEXT_TOKENS` tokens, such as
    sentences), `"stacked"` for longer ones (reviews).

    Args:
        median_tokens: the training texts' median length in tokens (`TextSpec`).
    """
    return "parallel" if median_tokens <= SHORT_TEXT_TOKENS else "stacked"


def auto_conv_shape(layout: str) -> tuple[int, tuple[int, ...]]:
    """`(filters, kernel sizes)` of a conv layout's Conv1D layers: 128 filters and kernels
    7, 7 stacked (keras-io's `text_classification_from_scratch.py`), 100 filters and
    kernels 3, 4, 5 side by side (Kim 2014).

    Args:
        layout: `"stacked"` or `"parallel"`.
    """
    if layout == "parallel":
        return PARALLEL_FILTERS, PARALLEL_KERNELS
    return STACKED_FILTERS, STACKED_KERNELS


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
    filters: int | None = None,
    kernel_sizes: Sequence[int] | None = None,
) -> keras.Model:
    """Builds a Conv1D text classifier on token ids, with a Dense(1, sigmoid) or Dense(k,
    softmax) head named "predictions".

    - `"stacked"` (long texts): Embedding → Dropout → Conv1D(128, 7, strides 3) ×2 (one
      layer per kernel size) → GlobalMaxPooling1D → Dense(128) → Dropout → head. It accepts
      token sequences of any length, so that it can train on batches cut to the padding
      they need (`tfapps.token_batches`).
    - `"parallel"` (short texts, Kim's sentence CNN): Embedding → [Conv1D(100, k) →
      GlobalMaxPooling1D] for k in 3, 4, 5 (the kernel sizes) side by side → Concatenate →
      Dropout → head; every window of one stride sees a sentence's words. As in Kim (2014),
      the dropout is on the
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
        filters: filters of each Conv1D layer. Defaults to the layout's (`auto_conv_shape`).
        kernel_sizes: the Conv1D kernels, stacked one after another or side by side.
            Defaults to the layout's (`auto_conv_shape`).
    """
    auto_filters, auto_kernels = auto_conv_shape(conv_layout)
    filters, kernel_sizes = filters or auto_filters, tuple(kernel_sizes or auto_kernels)
    stacked = architecture == "conv" and conv_layout == "stacked"
    length = None if stacked else sequence_length
    inputs = keras.Input(shape=(length,), dtype="int64", name="tokens")
    x = layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(inputs)
    if architecture == "conv" and not stacked:
        branches = [
            layers.GlobalMaxPooling1D(name=f"global_max_pool{index}")(
                layers.Conv1D(filters, k, activation="relu", name=f"conv{index}")(x)
            )
            for index, k in enumerate(kernel_sizes, start=1)
        ]
        x = layers.Dropout(dropout, name="dropout")(layers.Concatenate(name="features")(branches))
        return keras.Model(
            inputs,
            classifier_head(x, num_classes, binary_sigmoid=True),
            name="text_parallel_conv_classifier",
        )
    x = layers.Dropout(dropout, name="embedding_dropout")(x)
    if stacked:
        for block, k in enumerate(kernel_sizes, start=1):
            x = layers.Conv1D(
                filters, k, strides=3, padding="same", activation="relu", name=f"conv{block}"
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


def sequence_task_model(
    config: SentimentConfig,
    train: tf.data.Dataset,
    spec: TextSpec,
    architecture: str,
    num_classes: int,
    max_tokens: int = WORD_VOCABULARY,
) -> TaskModel:
    """The compiled model on token ids (conv or dense), its vectorizer adapted on the
    training texts.

    Args:
        config: the run's options.
        train: the training `(text, label)` examples, standardized already
            (`text.standardized`): the vocabulary and the training batches come from them
            without standardizing again; the model standardizes every other text itself.
        spec: the training texts' token facts (`median_tokens`, `long_tokens`).
        architecture: `"conv"` or `"dense"`.
        num_classes: the number of classes.
        max_tokens: the vocabulary size (`text_ngram.vocabulary_size`). Defaults to
            `WORD_VOCABULARY`.
    """
    from tfapps.pipeline import PREPROCESS_BATCH, map_in_batches

    sequence_length = config.sequence_length or auto_sequence_length(spec.long_tokens)
    layout = conv_layout_for(config, spec.median_tokens)
    vectorizer = build_text_vectorizer(max_tokens, sequence_length)
    tokenizer = without_standardization(vectorizer)
    tokenizer.adapt(train.map(lambda text, _: text).batch(PREPROCESS_BATCH))
    vocabulary = tokenizer.get_vocabulary()
    vectorizer.set_vocabulary(vocabulary)
    classifier = build_text_classifier(
        len(vocabulary),
        sequence_length,
        num_classes,
        embedding_dim=config.embedding_dim,
        dropout=config.dropout,
        architecture=architecture,
        conv_layout=layout,
        filters=config.conv_filters,
        kernel_sizes=config.kernel_sizes,
    )
    stacked = architecture == "conv" and layout == "stacked"
    trim = TokenCut.for_model(classifier, sequence_length) if stacked else None
    batcher = text_batcher(config, architecture, classifier, sequence_length, layout)
    loss = classifier_loss(num_classes)
    compile_model(classifier, config, loss, ["accuracy"], fixed_shapes=batcher is None)
    return TaskModel(
        model=classifier,
        serving_model=build_end_to_end(vectorizer, classifier, "sentiment_classifier", trim),
        preprocess=lambda texts, labels: (vectorizer(texts), labels),
        train_examples=map_in_batches(
            train, lambda texts, labels: (tokenizer(texts), labels), PREPROCESS_BATCH
        ),
        assets={VOCABULARY_TXT: "\n".join(vocabulary) + "\n"},
        batcher=batcher,
        architecture={
            "sequence_length": sequence_length,
            **(conv_shape(config, layout) if architecture == "conv" else {}),
        },
    )


def conv_layout_for(config: SentimentConfig, median_tokens: float) -> str:
    """`--conv-layout`, with auto decided by the training texts' median length in tokens
    (`auto_conv_layout`)."""
    if config.conv_layout == "auto":
        return auto_conv_layout(median_tokens)
    return config.conv_layout


def conv_shape(config: SentimentConfig, layout: str) -> dict:
    """The conv model's layout, filters and kernel sizes as built (run.json's `training`)."""
    filters, kernels = auto_conv_shape(layout)
    return {
        "conv_layout": layout,
        "conv_filters": config.conv_filters or filters,
        "kernel_sizes": list(config.kernel_sizes or kernels),
    }


def without_standardization(vectorizer: keras.layers.TextVectorization):
    """A TextVectorization like `vectorizer` but for texts already standardized: adapted, it
    learns the vocabulary `vectorizer` would from the raw texts, and then maps the
    standardized texts to the outputs `vectorizer` maps the raw ones to."""
    config = {**vectorizer.get_config(), "standardize": None}
    return keras.layers.TextVectorization.from_config(config)


def text_batcher(
    config: SentimentConfig,
    architecture: str,
    classifier: keras.Model,
    sequence_length: int,
    layout: str,
) -> Batcher | None:
    """Length batches (`TokenCut.batch`) for the stacked conv classifier with
    `--length-batches`; `None` (plain batches) otherwise: the dense model averages over the
    padding, and short texts have little padding to cut.

    Args:
        config: the run's options.
        architecture: `"conv"` or `"dense"`.
        classifier: the text classifier, taking token ids.
        sequence_length: tokens per text as the vectorizer pads them.
        layout: the conv layout, `"stacked"` or `"parallel"`.
    """
    if architecture != "conv" or layout != "stacked" or not config.length_batches:
        return None
    return TokenCut.for_model(classifier, sequence_length).batch
