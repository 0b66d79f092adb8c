"""The classic Keras recipe for IMDB sentiment with a Conv1D model, written without tfapps.

The recipe of keras.io's text classification from scratch, on NumPy arrays: adapt a
TextVectorization layer on the training texts, turn every text into token ids once, then
`model.fit(x, y)` on the integer arrays with Keras' defaults (one step per call unless
`--steps-per-execution` says otherwise). Architecture, vocabulary, sequence length, batch size,
optimizer, epochs, early stopping and data split are those of `tfapps sentiment`'s defaults;
the reviews come from tfapps' data layer, so both sides see the same examples.

Usage:
    python -m bench.reference.imdb --comparison imdb --scratch /tmp/imdb --result imdb.json
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf
from keras import layers

from bench import measure, tfapps_internals

RECIPE = {
    "batch_size": 32,
    "epochs": 10,
    "patience": 2,
    "start_from_epoch": 0,
    "learning_rate": 1e-3,
    "max_tokens": 20000,
    "sequence_length": 500,
    "embedding_dim": 128,
    "dropout": 0.5,
    "conv_layout": "stacked",
}


def standardize(texts):
    """Lower-cases and replaces HTML line breaks and punctuation with spaces."""
    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\w\s]", " ")


def build_model(vocabulary_size: int) -> keras.Model:
    """Embedding → Dropout → Conv1D ×2 → GlobalMaxPooling1D → Dense → Dropout → sigmoid."""
    return keras.Sequential(
        [
            keras.Input(shape=(RECIPE["sequence_length"],), dtype="int64"),
            layers.Embedding(vocabulary_size, RECIPE["embedding_dim"]),
            layers.Dropout(RECIPE["dropout"]),
            layers.Conv1D(128, 7, strides=3, padding="same", activation="relu"),
            layers.Conv1D(128, 7, strides=3, padding="same", activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(RECIPE["dropout"]),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    data = tfapps_internals.load_arrays(measure.config_for(options))
    measure.check_defaults(options, data, **RECIPE)
    (texts_train, y_train), (texts_val, y_val), (texts_test, y_test) = (
        data.splits[name] for name in tfapps_internals.SPLITS
    )
    keras.utils.set_random_seed(options.seed)
    vectorizer = layers.TextVectorization(
        max_tokens=RECIPE["max_tokens"],
        output_sequence_length=RECIPE["sequence_length"],
        standardize=standardize,
    )
    vectorizer.adapt(texts_train, batch_size=1024)
    started = time.perf_counter()
    x_train = vectorizer(texts_train).numpy()
    vectorize_seconds = time.perf_counter() - started  # tfapps does this inside its first epoch
    x_val, x_test = vectorizer(texts_val).numpy(), vectorizer(texts_test).numpy()
    model = build_model(vectorizer.vocabulary_size())
    splits = [(x_train, y_train), (x_val, y_val), (x_test, y_test)]
    measure.fit_arrays(
        options, model, "binary_crossentropy", splits, RECIPE, prepare_seconds=vectorize_seconds
    )


if __name__ == "__main__":
    main()
