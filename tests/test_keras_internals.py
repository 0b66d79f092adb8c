"""What tfapps reads of Keras' private files (`tfapps.keras_internals`) is still where and what
this Keras release writes and reads: these fail when a release moves it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from interrupting import InterruptAt

from tfapps.keras_internals import (
    BACKUP_METADATA,
    PREVIOUS_SUFFIX,
    checkpoint_epochs,
    idf_weights,
    mend_checkpoint,
)

EPOCHS = 6


def _fit(backup_dir, *callbacks) -> int:
    """Fits a tiny model with tfapps' BackupAndRestore settings; returns the epochs it ran."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    backup = keras.callbacks.BackupAndRestore(
        str(backup_dir), double_checkpoint=True, delete_checkpoint=False
    )
    history = model.fit(
        np.ones((8, 2)), np.ones(8), epochs=EPOCHS, verbose=0, callbacks=[backup, *callbacks]
    )
    return len(history.history["loss"])


@pytest.mark.slow
def test_the_checkpoint_epoch_is_read_where_backup_and_restore_writes_it(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, InterruptAt(4))
    assert (tmp_path / BACKUP_METADATA).is_file()
    assert (tmp_path / (BACKUP_METADATA + PREVIOUS_SUFFIX)).is_file()
    assert checkpoint_epochs(tmp_path) == 4
    assert _fit(tmp_path) == EPOCHS - 4  # Keras resumes where tfapps says the run is


@pytest.mark.slow
def test_a_mended_checkpoint_resumes_from_the_previous_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, InterruptAt(4))
    metadata = tmp_path / BACKUP_METADATA
    metadata.write_text(metadata.read_text()[:5])  # cut short, as by a kill while writing
    with pytest.raises(ValueError):  # Keras cannot resume from it: the reason to mend it
        _fit(tmp_path)
    assert checkpoint_epochs(tmp_path) == 3
    assert mend_checkpoint(tmp_path) == 3
    assert _fit(tmp_path) == EPOCHS - 3


def test_no_checkpoint_holds_no_epoch(tmp_path):
    assert checkpoint_epochs(tmp_path) == 0
    assert mend_checkpoint(tmp_path) == 0
    assert list(tmp_path.iterdir()) == []


def test_idf_weights_are_the_ones_tf_idf_vectors_are_made_of():
    import tensorflow as tf

    texts = tf.constant(["a b a", "b c", "c d e", "a"])
    vectorizer = keras.layers.TextVectorization(output_mode="tf_idf")
    vectorizer.adapt(texts)
    counts = keras.layers.TextVectorization(
        output_mode="count", vocabulary=vectorizer.get_vocabulary()
    )(texts).numpy()
    weights = idf_weights(vectorizer)
    assert weights.shape == (len(vectorizer.get_vocabulary()),) and weights.dtype == np.float32
    np.testing.assert_array_equal(vectorizer(texts).numpy(), counts * weights)
    # Keras' formula, log(1 + documents / (1 + documents with the term)), in vocabulary order
    documents = {"a": 2, "b": 2, "c": 2, "d": 1, "e": 1}
    vocabulary = vectorizer.get_vocabulary()[1:]
    expected = [np.log(1 + 4 / (1 + documents[term])) for term in vocabulary]
    np.testing.assert_allclose(weights[1:], expected, rtol=1e-6)
