"""The n-gram text classifier: TF-IDF over word uni- and bigrams, then Dense layers; and the
rule that picks it over the Conv1D model for a dataset.

A bag of n-grams is the known strong baseline on small and medium corpora (Wang & Manning
2012, "Baselines and Bigrams", ACL: NBSVM); Google's text-classification guide
(developers.google.com/machine-learning/guides/text-classification, step 2.5) picks an
n-gram MLP when the training samples divided by the median words per sample is under 1,500,
and a sequence model above it (`auto_architecture`).

Training computes the TF-IDF vectors once and caches them sparse (`sparse_tf_idf`): dense,
IMDB's 20,000 training reviews × 20,000 n-grams would take 1.6 GB in float32, sparse they take
a few dozen MB; the pipeline makes each batch dense again (`pipeline.densified`). The exported
model chains the TextVectorization layer and the same classifier, so it takes raw strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import layers

from tfapps.keras_internals import idf_weights
from tfapps.runs import IDF_WEIGHTS_TXT, VOCABULARY_TXT
from tfapps.tasks.classifiers import classifier_head, classifier_loss
from tfapps.tasks.task_model import TaskModel, compile_model
from tfapps.tasks.text_model import WORD_VOCABULARY, build_end_to_end
from tfapps.tasks.text_standardization import standardize_text

if TYPE_CHECKING:
    import tensorflow as tf

    from tfapps.data.info import DatasetInfo
    from tfapps.tasks.text import SentimentConfig

NGRAMS = 2  # word uni- and bigrams
SAMPLES_PER_WORD_LIMIT = 1500  # Google's guide: below it an n-gram model, above it a sequence
# The automatic vocabulary: n-grams per million training words, within these limits. The
# lower limit is Google's guide's top 20,000; the rest was measured (bench/NOTES.md, "The
# n-gram vocabulary": more n-grams help IMDB's 3.6 million training words, hurt Rotten
# Tomatoes' 0.13 million).
NGRAMS_PER_MILLION_WORDS = 20000
NGRAM_VOCABULARY_LIMITS = (20000, 100000)


def auto_architecture(samples: int, median_words: float | None) -> tuple[str, str]:
    """The architecture `--architecture auto` trains, and why, in words.

    Google's rule: `"ngram"` when the training samples divided by their median words (tokens
    as the vectorizer splits them) is under `SAMPLES_PER_WORD_LIMIT`, else the sequence
    model, `"conv"`.

    Args:
        samples: the training texts.
        median_words: their median length in tokens (`TextSpec.median_tokens`); `None` or
            under 1 counts as 1.

    Returns:
        `(architecture, reason)`, such as `("ngram", "20,000 training texts / 174 median
        words = 115 < 1,500 (Google's text-classification rule)")`.
    """
    median = max(1.0, float(median_words or 0.0))
    ratio = samples / median
    chosen = "ngram" if ratio < SAMPLES_PER_WORD_LIMIT else "conv"
    sign = "<" if chosen == "ngram" else ">="
    return chosen, (
        f"{samples:,} training texts / {median:,.0f} median words = {ratio:,.0f} {sign} "
        f"{SAMPLES_PER_WORD_LIMIT:,} (Google's text-classification rule)"
    )


def auto_max_tokens(samples: int, median_words: float | None) -> int:
    """The n-gram vocabulary `--max-tokens` gives when left automatic: larger corpora carry
    more n-grams frequent enough to learn from, while on a small one the rare n-grams a
    large vocabulary adds only overfit.

    Args:
        samples: the training texts.
        median_words: their median length in tokens (`TextSpec.median_tokens`); `None` or
            under 1 counts as 1.

    Returns:
        `NGRAMS_PER_MILLION_WORDS` per million of `samples × median_words`, rounded to a
        thousand, within `NGRAM_VOCABULARY_LIMITS` (IMDB's 19,965 training reviews of 178
        median words: 71,000).
    """
    words = samples * max(1.0, float(median_words or 0.0))
    size = round(words * NGRAMS_PER_MILLION_WORDS / 1e6, -3)
    low, high = NGRAM_VOCABULARY_LIMITS
    return int(min(high, max(low, size)))


def chosen_architecture(config: SentimentConfig, info: DatasetInfo) -> tuple[str, str]:
    """The architecture a run trains and why: `--architecture`, or for `auto` the rule of
    `auto_architecture` on the training split's size and median tokens."""
    if config.architecture != "auto":
        return config.architecture, "--architecture"
    return auto_architecture(info.sizes["train"], info.spec.median_tokens)


def vocabulary_size(config: SentimentConfig, info: DatasetInfo, architecture: str) -> int:
    """The vocabulary a run's TextVectorization keeps: `--max-tokens`, or automatically
    `text_model.WORD_VOCABULARY` words (conv, dense) or, for ngram, as many n-grams as
    `auto_max_tokens` gives for the training split's size and median tokens."""
    if config.max_tokens is not None:
        return config.max_tokens
    if architecture != "ngram":
        return WORD_VOCABULARY
    return auto_max_tokens(info.sizes["train"], info.spec.median_tokens)


def ngram_task_model(
    config: SentimentConfig, train: tf.data.Dataset, num_classes: int, max_tokens: int
) -> TaskModel:
    """The compiled n-gram model, its vectorizer adapted on the training texts: the training
    model reads TF-IDF vectors (`sparse_tf_idf`, computed once before the cache), the
    exported one raw strings.

    Args:
        config: the run's options (`ngram_units`, `dropout`, ...).
        train: the training `(text, label)` examples, standardized already
            (`text.standardized`): the vocabulary, idf weights and training vectors come from
            them without standardizing again.
        num_classes: the number of classes.
        max_tokens: the most frequent n-grams kept (`vocabulary_size`).
    """
    from tfapps.pipeline import PREPROCESS_BATCH, map_in_batches

    adapted = build_ngram_vectorizer(max_tokens, standardize=None)
    adapted.adapt(train.map(lambda text, _: text).batch(PREPROCESS_BATCH))
    vocabulary, weights = adapted.get_vocabulary(), idf_weights(adapted)
    vectorizer = build_ngram_vectorizer(max_tokens)
    vectorizer.set_vocabulary(vocabulary, idf_weights=weights)
    features = len(vocabulary)
    classifier = build_ngram_classifier(features, num_classes, config.ngram_units, config.dropout)
    compile_model(classifier, config, classifier_loss(num_classes), ["accuracy"])
    vectorize = sparse_tf_idf(vocabulary, weights, standardize_text)
    vectorize_standardized = sparse_tf_idf(vocabulary, weights, None)
    return TaskModel(
        model=classifier,
        serving_model=build_end_to_end(vectorizer, classifier, "sentiment_classifier"),
        preprocess=lambda texts, labels: (vectorize(texts), labels),
        train_examples=map_in_batches(
            train, lambda texts, labels: (vectorize_standardized(texts), labels), PREPROCESS_BATCH
        ),
        assets=ngram_assets(vocabulary, weights),
        architecture={"features": features},
    )


def build_ngram_vectorizer(
    max_tokens: int = 20000, standardize=standardize_text
) -> layers.TextVectorization:
    """Returns an unadapted TextVectorization layer giving TF-IDF vectors over word uni- and
    bigrams (`standardize`, then whitespace), `float32 [batch, features]`.

    Args:
        max_tokens: the most frequent n-grams kept, the out-of-vocabulary entry included.
            Defaults to 20000.
        standardize: the texts' standardization; `None` for texts standardized already.
            Defaults to `text_standardization.standardize_text`.
    """
    return layers.TextVectorization(
        max_tokens=max_tokens,
        output_mode="tf_idf",
        ngrams=NGRAMS,
        standardize=standardize,
        name="vectorizer",
    )


def build_ngram_classifier(
    features: int, num_classes: int, units: int = 64, dropout: float = 0.5
) -> keras.Model:
    """Builds the n-gram MLP on TF-IDF vectors: Dense(units, relu) → Dropout → Dense(1,
    sigmoid) or Dense(k, softmax) named "predictions".

    Its input, `tf_idf`, is `float32 [batch, features]`.

    Args:
        features: length of the TF-IDF vectors (the vectorizer's vocabulary size).
        num_classes: 2 gives a single sigmoid unit; more give a softmax.
        units: width of the hidden Dense layer. Defaults to 64.
        dropout: dropout rate after it. Defaults to 0.5.
    """
    inputs = keras.Input(shape=(features,), name="tf_idf")
    x = layers.Dense(units, activation="relu", name="dense")(inputs)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(
        inputs, classifier_head(x, num_classes, binary_sigmoid=True), name="text_ngram_classifier"
    )


def sparse_tf_idf(vocabulary: list[str], weights: np.ndarray, standardize):
    """A function from a batch of texts to their TF-IDF vectors over `vocabulary` as a
    `tf.SparseTensor` (`float32 [batch, features]`), the values a `"tf_idf"`
    TextVectorization with this vocabulary and these idf weights gives.

    Keras 3.15's TextVectorization fails with `output_mode="tf_idf"` and `sparse=True` (its
    sparse-times-dense multiply raises in GatherNd), so the vectors are the n-gram counts of a
    sparse `"count"` layer over the same vocabulary, times the idf weights of their column,
    which is how the `"tf_idf"` mode computes them.

    Args:
        vocabulary: the n-grams, `[UNK]` first (`TextVectorization.get_vocabulary()`).
        weights: their idf weights, `float32 [features]` (`keras_internals.idf_weights`).
        standardize: the standardization of the texts (`standardize_text`), or `None` for
            texts standardized already.
    """
    import tensorflow as tf

    counter = layers.TextVectorization(
        output_mode="count",
        ngrams=NGRAMS,
        standardize=standardize,
        sparse=True,
        vocabulary=vocabulary,
    )
    weights = tf.constant(weights, tf.float32)

    def vectorize(texts: tf.Tensor) -> tf.SparseTensor:
        counts = counter(texts)
        values = tf.cast(counts.values, tf.float32) * tf.gather(weights, counts.indices[:, 1])
        return tf.SparseTensor(counts.indices, values, counts.dense_shape)

    return vectorize


def ngram_assets(vocabulary: list[str], weights: np.ndarray) -> dict[str, str]:
    """The files written beside an n-gram model: vocabulary.txt (one n-gram a line, in
    column order) and idf_weights.txt (each column's weight, exact for float32)."""
    return {
        VOCABULARY_TXT: "\n".join(vocabulary) + "\n",
        IDF_WEIGHTS_TXT: "".join(f"{float(w):.9g}\n" for w in weights),
    }


def is_ngram_model(model: keras.Model) -> bool:
    """Whether a run's model (raw strings in) is the n-gram model: its vectorizer gives TF-IDF
    vectors rather than token ids."""
    return model.get_layer("vectorizer").get_config()["output_mode"] == "tf_idf"
