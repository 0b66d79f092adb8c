"""`tfapps sentiment`: the Conv1D text classifier (any labels, not only sentiment), from its
options to its served model.

Its data readers are `data.texts` (TFDS text datasets, CSV files, text folders); the model is
built in `text_model`; texts a finished run is given are read by `text_inputs`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tfapps.config import RunConfig
from tfapps.config.fields import documented, option, redefault
from tfapps.config.options import ClassifierOptions, CsvOptions
from tfapps.data.embedded import EmbeddedDataset
from tfapps.tasks.base import TaskModel, compile_model
from tfapps.tasks.classifiers import ClassifierTask, classifier_loss

if TYPE_CHECKING:
    import keras
    import numpy as np
    import tensorflow as tf

    from tfapps.data.splits import Splits
    from tfapps.export_parts import Part
    from tfapps.pipeline import Batcher
    from tfapps.runs import RunRecord
    from tfapps.serving_requests import InputSpec

TEXT_PREVIEW_CHARS = 200  # of each test text in predictions.csv
ARCHITECTURES = ("conv", "dense")
CONV_LAYOUTS = ("auto", "stacked", "parallel")


@documented
@dataclass
class SentimentConfig(ClassifierOptions, CsvOptions, RunConfig):
    """Options of `tfapps sentiment`, on top of `RunConfig`."""

    task: ClassVar[str] = "sentiment"

    dataset: str = redefault(RunConfig, "dataset", "movie_reviews")
    epochs: int = redefault(RunConfig, "epochs", 10)
    patience: int = redefault(RunConfig, "patience", 2)
    max_tokens: int = option(
        20000,
        "vocabulary size of the TextVectorization layer (adapted on the training split only).",
        minimum=1,
    )
    sequence_length: int | None = option(
        None,
        "tokens kept per text; longer texts are cut, shorter ones padded.",
        automatic="99% of the training texts kept whole, between 16 and 500 tokens (IMDB "
        "reviews: 500; `text_model.auto_sequence_length`)",
        minimum=1,
    )
    conv_layout: str = option(
        "auto",
        "how the conv model's Conv1D layers fit the texts: stacked (two Conv1D(128, 7, "
        "strides 3), for reviews and other long texts), parallel (Conv1D of kernels 3, 4 and "
        "5 side by side, stride 1, as Kim's sentence CNN, for short texts) or auto: parallel "
        "when the training texts' median length is at most 50 tokens.",
        choices=CONV_LAYOUTS,
    )
    embedding_dim: int = option(128, "width of the Embedding layer.", minimum=1)
    dropout: float = option(
        0.5, "dropout rate after the embedding and before the classifier.", rate=True
    )
    text_column: str = option("text", "CSV column holding the text (CSV datasets only).")
    label_column: str = option(
        "label",
        "CSV column holding the label, strings or integers (CSV datasets only).",
    )
    architecture: str = option(
        "conv",
        "the model family: conv (the Conv1D model) or dense (Embedding → "
        "GlobalAveragePooling1D → Dense(128) → Dropout → Dense), to compare.",
        choices=ARCHITECTURES,
    )
    length_batches: bool = option(
        True,
        "train the conv model on batches of texts of similar length, each cut to the padding "
        "it needs (the trained model's outputs on a cut batch are those at "
        "`sequence_length`; IMDB trains about 1.4x faster); `--no-length-batches` pads every "
        "batch to `sequence_length`, as the dense model and multi-worker runs always do.",
    )


class SentimentTask(ClassifierTask):
    """Text classification: raw strings in, class probabilities out."""

    name = "sentiment"
    config_class = SentimentConfig
    description = """Train a Conv1D text classifier: TextVectorization → Embedding → Conv1D ×2 →
    GlobalMaxPooling1D → Dense → Dense(sigmoid, or softmax for more than 2 labels).

    The exported SavedModel takes raw strings [batch] and returns probabilities; the vocabulary
    is inside it and also written as vocabulary.txt.

    \b
    Examples:
      tfapps sentiment                                  # embedded IMDB reviews (25,000)
      tfapps sentiment --dataset rotten_tomatoes        # embedded, 8,530 sentences
      tfapps sentiment --dataset imdb_reviews           # TFDS catalog, downloaded on first use
      tfapps sentiment --dataset reviews.csv --text-column review --label-column stars
    """
    embedded = (
        EmbeddedDataset(
            name="movie_reviews",
            examples=25000,
            origin="movie-reviews (its bundled CSV, source imdb)",
            description="IMDB movie reviews, negative/positive, 12,500 each",
            builder="tfapps.data.movie_reviews:MovieReviews",
            builder_config="imdb",
        ),
        EmbeddedDataset(
            name="rotten_tomatoes",
            examples=8530,
            origin="movie-reviews (its bundled CSV, source rotten_tomatoes)",
            description="Rotten Tomatoes review sentences, negative/positive, 4,265 each",
            builder="tfapps.data.movie_reviews:MovieReviews",
            builder_config="rotten_tomatoes",
        ),
    )
    catalog = ("imdb_reviews", "yelp_polarity_reviews", "ag_news_subset")
    local_formats = (
        "a CSV with text and label columns, or a folder root/<label>/*.txt "
        "(or root/train|test/<label>/...)"
    )
    quick = {"epochs": 4, "max_examples": 2000}
    variants = ({"architecture": "dense"},)

    def read_tfds(self, builder, source: str, config: SentimentConfig) -> Splits:
        from tfapps.data.texts import from_tfds

        return from_tfds(builder, source, config)

    def read_path(self, path: Path, config: SentimentConfig) -> Splits:
        from tfapps.data.texts import from_path

        return from_path(path, config)

    def inspect(self, splits: Splits) -> None:
        """Counts the training texts' tokens as the model's vectorizer makes them (recorded
        in the `TextSpec`), and refuses a training split that leaves no token.

        The training texts are standardized once here, and kept (cached) as
        `splits.prepared_train` for `build`: its token counts, vocabulary and training
        batches all come from them; the model standardizes every other text itself.
        """
        from tfapps.tasks.text_standardization import check_tokens, count_tokens

        splits.prepared_train = standardized(splits.train).cache()
        counts = count_tokens(_texts(splits.prepared_train), standardize=False)
        check_tokens(counts, splits.info.name)
        counts.describe(splits.info.spec)

    def build(self, config: SentimentConfig, splits: Splits) -> TaskModel:
        from tfapps import runs
        from tfapps.pipeline import PREPROCESS_BATCH, map_in_batches
        from tfapps.tasks import text_model
        from tfapps.token_batches import TokenCut

        spec, train = splits.info.spec, splits.prepared_train  # standardized by `inspect`
        texts = _texts(train)
        sequence_length = config.sequence_length or text_model.auto_sequence_length(
            spec.long_tokens
        )
        layout = config.conv_layout
        if layout == "auto":
            layout = text_model.auto_conv_layout(spec.median_tokens)
        vectorizer = text_model.build_text_vectorizer(config.max_tokens, sequence_length)
        tokenizer = without_standardization(vectorizer)
        tokenizer.adapt(texts)
        vocabulary = tokenizer.get_vocabulary()
        vectorizer.set_vocabulary(vocabulary)
        num_classes = len(splits.info.class_names)
        classifier = text_model.build_text_classifier(
            len(vocabulary),
            sequence_length,
            num_classes,
            embedding_dim=config.embedding_dim,
            dropout=config.dropout,
            architecture=config.architecture,
            conv_layout=layout,
        )
        stacked = config.architecture == "conv" and layout == "stacked"
        trim = TokenCut.for_model(classifier, sequence_length) if stacked else None
        batcher = text_batcher(config, classifier, sequence_length, layout)
        loss = classifier_loss(num_classes)
        compile_model(classifier, config, loss, ["accuracy"], fixed_shapes=batcher is None)
        return TaskModel(
            model=classifier,
            serving_model=text_model.build_end_to_end(
                vectorizer, classifier, "sentiment_classifier", trim
            ),
            preprocess=lambda texts, labels: (vectorizer(texts), labels),
            train_examples=map_in_batches(
                train, lambda texts, labels: (tokenizer(texts), labels), PREPROCESS_BATCH
            ),
            assets={runs.VOCABULARY_TXT: "\n".join(vocabulary) + "\n"},
            batcher=batcher,
            architecture={
                "sequence_length": sequence_length,
                **({"conv_layout": layout} if config.architecture == "conv" else {}),
            },
        )

    def report_inputs(self, examples: tf.data.Dataset) -> dict[str, list]:
        """The start of each test text, for predictions.csv."""
        from tfapps.raw_inputs import preview

        return {
            "text": [
                preview(text.decode("utf-8", "replace"), TEXT_PREVIEW_CHARS)
                for text, _ in examples.as_numpy_iterator()
            ]
        }

    def read_inputs(self, record: RunRecord, input_names, inputs, text_per=None):
        """Texts, `.txt` and `.csv` files and folders, read as training read them
        (`text_inputs`)."""
        from tfapps.tasks.text_inputs import text_inputs

        return text_inputs(record, input_names[0], inputs, text_per)

    def serving_values(self, values: list, spec: InputSpec, record: RunRecord) -> np.ndarray:
        """Strings, or `{"b64": <UTF-8 text>}`; a byte-order mark is never part of a text."""
        import numpy as np

        return np.array([_served_text(value, spec.name) for value in values], dtype=object)

    def export_part(self, model: keras.Model, record: RunRecord, fmt: str) -> Part:
        """ONNX and LiteRT lack TensorFlow's string ops: they hold the token-id part
        (`text_model.token_part`); a SavedModel holds the whole model."""
        from tfapps.export_parts import STRING_PREPROCESSING, raw_part
        from tfapps.tasks.text_model import token_part

        if fmt in STRING_PREPROCESSING:
            return token_part(model, record)
        return raw_part(model, classifier=True)

    def load_model(self, path: Path) -> keras.Model:
        """Registers the text model's custom objects before Keras loads model.keras."""
        import tfapps.tasks.text_model  # noqa: F401

        return super().load_model(path)


def text_batcher(
    config: SentimentConfig, classifier: keras.Model, sequence_length: int, layout: str
) -> Batcher | None:
    """Length batches (`TokenCut.batch`) for the stacked conv classifier with
    `--length-batches`; `None` (plain batches) otherwise: the dense model averages over the
    padding, and short texts have little padding to cut.

    Args:
        config: the run's options.
        classifier: the text classifier, taking token ids.
        sequence_length: tokens per text as the vectorizer pads them.
        layout: the conv layout, `"stacked"` or `"parallel"`.
    """
    from tfapps.token_batches import TokenCut

    if config.architecture != "conv" or layout != "stacked" or not config.length_batches:
        return None
    return TokenCut.for_model(classifier, sequence_length).batch


def standardized(examples: tf.data.Dataset) -> tf.data.Dataset:
    """`(text, label)` examples with each text standardized as the model's vectorizer does
    (`text_standardization.standardize_text`), in batches of `pipeline.PREPROCESS_BATCH`."""
    from tfapps.pipeline import PREPROCESS_BATCH, map_in_batches
    from tfapps.tasks.text_standardization import standardize_text

    return map_in_batches(
        examples, lambda texts, labels: (standardize_text(texts), labels), PREPROCESS_BATCH
    )


def without_standardization(vectorizer: keras.layers.TextVectorization):
    """A TextVectorization like `vectorizer` but for texts already standardized: adapted, it
    learns the vocabulary `vectorizer` would from the raw texts, and then maps the
    standardized texts to the token ids `vectorizer` maps the raw ones to."""
    import keras

    config = {**vectorizer.get_config(), "standardize": None}
    return keras.layers.TextVectorization.from_config(config)


def _texts(examples: tf.data.Dataset) -> tf.data.Dataset:
    """The texts of `(text, label)` examples in batches of `pipeline.PREPROCESS_BATCH`."""
    from tfapps.pipeline import PREPROCESS_BATCH

    return examples.map(lambda text, _: text).batch(PREPROCESS_BATCH)


def _served_text(value, name: str) -> str:
    from tfapps.serving_bodies import BadRequest
    from tfapps.serving_requests import kind_of

    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            return base64.b64decode(value["b64"], validate=True).decode("utf-8")
        except (binascii.Error, TypeError, ValueError):
            raise BadRequest(f'Input {name!r}: "b64" must hold base64 UTF-8 text.') from None
    if not isinstance(value, str):
        raise BadRequest(f"Input {name!r} takes strings. Received: {kind_of(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:  # JSON's "\ud800" escapes decode to lone surrogates
            raise BadRequest(
                f"Input {name!r} takes Unicode text; {error.object[error.start]!r} at "
                f"character {error.start} is half of a UTF-16 surrogate pair."
            ) from None
    return value.removeprefix("\ufeff")


TASK = SentimentTask()
