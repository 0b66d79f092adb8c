"""The classic Keras recipe for IMDB sentiment with a Conv1D model, written without tfapps.

The recipe of keras.io's text classification from scratch, on NumPy arrays: adapt a
TextVectorization layer on the training texts, turn every text into token ids once, then
`model.fit(x, y)` on the integer arrays with Keras' defaults (one step per call unless
`--steps-per-execution` says otherwise). Architecture, vocabulary, sequence length, batch size,
optimizer, epochs, early stopping and data split are those of `tfapps sentiment`'s defaults;
the reviews come from tfapps' data layer, so both sides see the same examples.

Usage:
    python -m bench.reference.imdb --scratch /tmp/imdb --result imdb.json --seed 1
"""

from __future__ import annotations

import time

import keras
import tensorflow as tf
from keras import layers

from bench import measure
from tfapps import models
from tfapps.config import TextConfig
from tfapps.tasks import token_counts

BATCH_SIZE = 32
EPOCHS = 10
PATIENCE = 2
START_FROM_EPOCH = 0
LEARNING_RATE = 1e-3
MAX_TOKENS = 20000
SEQUENCE_LENGTH = 500
EMBEDDING_DIM = 128
DROPOUT = 0.5


def standardize(texts):
    """Lower-cases and replaces HTML line breaks and punctuation with spaces."""
    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\w\s]", " ")


def build_model(vocabulary_size: int) -> keras.Model:
    """Embedding → Dropout → Conv1D ×2 → GlobalMaxPooling1D → Dense → Dropout → sigmoid."""
    return keras.Sequential(
        [
            keras.Input(shape=(SEQUENCE_LENGTH,), dtype="int64"),
            layers.Embedding(vocabulary_size, EMBEDDING_DIM),
            layers.Dropout(DROPOUT),
            layers.Conv1D(128, 7, strides=3, padding="same", activation="relu"),
            layers.Conv1D(128, 7, strides=3, padding="same", activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(DROPOUT),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    data, _ = measure.load_arrays(measure.config_for(TextConfig, options))
    (texts_train, y_train), (texts_val, y_val) = data["train"], data["validation"]
    texts_test, y_test = data["test"]
    counts = token_counts(tf.data.Dataset.from_tensor_slices(texts_train).batch(1024))
    measure.check_defaults(
        TextConfig,
        {"sequence_length": models.auto_sequence_length(counts)},
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        patience=PATIENCE,
        start_from_epoch=START_FROM_EPOCH,
        learning_rate=LEARNING_RATE,
        max_tokens=MAX_TOKENS,
        sequence_length=SEQUENCE_LENGTH,
        embedding_dim=EMBEDDING_DIM,
        dropout=DROPOUT,
    )
    if models.auto_conv_layout(counts) != "stacked":
        raise ValueError("tfapps would train these texts with parallel convolutions")

    keras.utils.set_random_seed(options.seed)
    vectorizer = layers.TextVectorization(
        max_tokens=MAX_TOKENS, output_sequence_length=SEQUENCE_LENGTH, standardize=standardize
    )
    vectorizer.adapt(texts_train, batch_size=1024)
    started = time.perf_counter()
    x_train = vectorizer(texts_train).numpy()
    vectorize_seconds = time.perf_counter() - started  # tfapps does this inside its first epoch
    x_val, x_test = vectorizer(texts_val).numpy(), vectorizer(texts_test).numpy()

    model = build_model(vectorizer.vocabulary_size())
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=options.steps_per_execution,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=PATIENCE,
        start_from_epoch=START_FROM_EPOCH,
        restore_best_weights=True,
    )
    clock = measure.epoch_clock(options)
    model.fit(
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=options.epochs or EPOCHS,
        validation_data=(x_val, y_val),
        callbacks=[early_stopping, clock],
        verbose=0,
    )
    measure.finish_reference(
        options,
        TextConfig.task,
        clock,
        model,
        x_test,
        y_test,
        len(x_train),
        prepare_seconds=vectorize_seconds,
    )


if __name__ == "__main__":
    main()
