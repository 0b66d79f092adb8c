"""What ONNX and LiteRT can hold of a text model: they lack TensorFlow's string ops, so they get
the classifier after the TextVectorization layer, on token ids (`token_part`) or TF-IDF vectors
(`tf_idf_part`), with the files and a preprocessing.txt that say exactly how a text becomes
its input (a test follows each note in plain Python and compares with the SavedModel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np

from tfapps.runs import IDF_WEIGHTS_TXT, VOCABULARY_TXT
from tfapps.tasks.text_standardization import preprocessing_note, tokenization_note

if TYPE_CHECKING:
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord


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


def tf_idf_part(model: keras.Model, record: RunRecord) -> Part:
    """The n-gram model's classifier on TF-IDF vectors, for formats without TensorFlow's string
    ops (ONNX, LiteRT): it takes `float32 [batch, features]`, with vocabulary.txt,
    idf_weights.txt and a preprocessing.txt that says exactly how a text becomes its vector.

    The cut is right after the TextVectorization layer: everything before it is string work,
    and everything after it is what the run trained."""
    import tensorflow as tf

    from tfapps.export_parts import Part

    vectorizer = model.get_layer("vectorizer")
    classifier = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    features = len(vectorizer.get_vocabulary())
    names = record.dataset.class_names
    outputs = f"P({names[1]}), one column" if len(names) == 2 else "one probability a class"
    note = (
        f"tf_idf_model takes TF-IDF vectors, float32 [batch, {features}], and returns what the "
        f"run's model returns ({outputs}; classes in order: {', '.join(names)}).\n\n"
        + tokenization_note("its TF-IDF vector")
        + "9. List its n-grams: every token, then every two adjacent tokens joined by one\n"
        '   space ("not good" for "not" followed by "good").\n'
        f"10. Start from {features} zeros; for each n-gram, add 1 at its line number in\n"
        "   vocabulary.txt (UTF-8, lines end with \\n), counting from 0 (line 0, [UNK],\n"
        "   counts every n-gram not in the file).\n"
        "11. Multiply each entry by the number on the same line of idf_weights.txt.\n"
    )
    return Part(
        model=classifier,
        signature=[tf.TensorSpec((None, features), tf.float32, name="tf_idf")],
        stem="tf_idf_model",
        takes=(
            f"TF-IDF vectors, float32 [batch, {features}] (see preprocessing.txt, "
            "vocabulary.txt and idf_weights.txt)"
        ),
        encode=lambda texts: {"tf_idf": vectorizer(tf.constant(texts)).numpy()},
        classifier=True,
        notes={"preprocessing.txt": note},
        copies=[VOCABULARY_TXT, IDF_WEIGHTS_TXT],
        run_dir=record.directory,
    )
