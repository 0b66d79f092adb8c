"""The options of each training command, on top of `RunConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from tfapps.config import checks
from tfapps.config.base import ARCHITECTURES, DEVICES, PRECISIONS, STRATEGIES, RunConfig

RESIZE_RULES = ("stretch", "crop", "pad")  # tfapps.data.images.fit_to_size
CLASS_WEIGHTS = ("none", "balanced")
CONV_LAYOUTS = ("auto", "stacked", "parallel")
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
DECIMAL_MARKS = (".", ",")


@dataclass
class ClassifierOptions:
    """Options of the commands that train a classifier.

    Args:
        class_weight: `"balanced"` weighs each training example by the inverse of its class's
            frequency (Keras `class_weight`, as scikit-learn's "balanced"), so that a rare
            class counts as much as a common one; `"none"` weighs every example alike.
            Defaults to `"none"`.
    """

    class_weight: str = "none"

    def validate(self) -> None:
        super().validate()
        checks.check_choice(self.class_weight, "class-weight", CLASS_WEIGHTS)


@dataclass
class CsvOptions:
    """Options for a dataset given as a CSV file.

    Args:
        sep: the CSV delimiter: `","`, `";"`, `"tab"`, `"|"` or another single character.
            Defaults to automatic: detected among those four, and printed.
        na_values: cells that mean "missing" besides empty cells, `?`, `NA`, `N/A`, `-`,
            `null`, `none` and `missing` (case is ignored; `numbers.NA_MARKERS` lists them
            all); repeat the option or separate values with commas. Defaults to none.
    """

    sep: str | None = None
    na_values: tuple[str, ...] = ()

    def validate(self) -> None:
        super().validate()
        if self.sep is not None:
            self.sep = SEPARATORS.get(self.sep.lower(), self.sep)
            if len(self.sep) != 1:
                raise checks.invalid("sep", "one character, or comma|semicolon|tab|pipe", self.sep)
        self.na_values = tuple(self.na_values)


@dataclass
class ImageConfig(ClassifierOptions, RunConfig):
    """Options of `tfapps image-classify`, on top of `RunConfig`.

    Args:
        epochs: maximum number of epochs; early stopping may end training sooner.
            Defaults to automatic (`models.auto_epochs`): 40 for inputs up to 32 px (digits,
            MNIST), 15 for larger ones (photos, as TensorFlow's image classification
            tutorial trains them).
        filters: Conv2D filters of each Conv2D → MaxPooling2D block, one block per number
            (`--filters 32,64`). Defaults to automatic (`models.auto_filters`): 32,64 for
            inputs up to 32 px (digits, MNIST); for larger inputs one block per halving of
            the longer side until the feature map is at most 12 px, with 16, 32, 64, 64, ...
            filters.
        dropout: dropout rate before the softmax layer. Defaults to 0.5.
        architecture: the model family: `"conv"` (the convnet) or `"dense"` (Rescaling →
            Flatten → Dense(128) → Dropout → Dense(softmax)), to compare. Defaults to `"conv"`.
        image_size: `(height, width)` every image is fitted to (`--image-size 28x28`).
            Defaults to the dataset's own size when it is at most 180 px on its longer side
            (for a folder, its most common size), else 180x180 (photos, as TensorFlow's
            image classification tutorial).
        resize: how an image of another aspect ratio is fitted to the input size, the same in
            training, evaluate, predict and serve: `"stretch"` (scale each side, as Keras'
            `image_dataset_from_directory` does), `"crop"` (cover the input, then cut the
            centre out) or `"pad"` (fit inside it, with black borders). Defaults to
            `"stretch"`.
        augment: random horizontal flips, rotations (up to 10% of a turn) and zooms (up to
            10%) of the training images, inside the model and inactive at inference
            (`--augment`/`--no-augment`). Defaults to automatic: on for inputs of at least
            64 px on their shorter side (photos), off for smaller ones (digits, MNIST: a flip
            changes what a digit means).
    """

    task: ClassVar[str] = "image-classify"

    dataset: str = "digits"
    epochs: int | None = None
    patience: int = 8
    filters: tuple[int, ...] | None = field(default=None, metadata={"example": "32,64"})
    dropout: float = 0.5
    architecture: str = "conv"
    image_size: tuple[int, int] | None = field(
        default=None, metadata={"separator": "x", "example": "28x28"}
    )
    resize: str = "stretch"
    augment: bool | None = None

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        super().validate()
        if self.filters is not None:
            self.filters = checks.check_positive_ints(self.filters, "filters", "32,64")
        checks.check_choice(self.resize, "resize", RESIZE_RULES)
        if self.augment not in (None, True, False):
            raise checks.invalid("augment", "True, False or None (automatic)", self.augment)
        checks.check_rate(self.dropout)
        checks.check_choice(self.architecture, "architecture", ARCHITECTURES)
        if self.image_size is not None:
            self.image_size = tuple(self.image_size)
            if len(self.image_size) != 2 or not all(
                checks.is_int(s) and s >= 1 for s in self.image_size
            ):
                raise checks.invalid(
                    "image-size",
                    "HEIGHTxWIDTH with both >= 1, such as 28x28",
                    "x".join(map(str, self.image_size)),
                )


@dataclass
class TextConfig(ClassifierOptions, CsvOptions, RunConfig):
    """Options of `tfapps sentiment`, on top of `RunConfig`.

    Args:
        max_tokens: vocabulary size of the TextVectorization layer (adapted on the training
            split only). Defaults to 20000.
        sequence_length: tokens kept per text; longer texts are cut, shorter ones padded.
            Defaults to automatic (`models.auto_sequence_length`): 99% of the training texts
            kept whole, between 16 and 500 tokens (IMDB reviews: 500).
        conv_layout: how the conv model's Conv1D layers fit the texts: `"stacked"` (two
            Conv1D(128, 7, strides 3), for reviews and other long texts), `"parallel"` (Conv1D
            of kernels 3, 4 and 5 side by side, stride 1, as Kim's sentence CNN, for short
            texts) or `"auto"`: parallel when the training texts' median length is at most
            50 tokens. Defaults to `"auto"`.
        embedding_dim: width of the Embedding layer. Defaults to 128.
        dropout: dropout rate after the embedding and before the classifier. Defaults to 0.5.
        text_column: CSV column holding the text (CSV datasets only). Defaults to `"text"`.
        label_column: CSV column holding the label, strings or integers (CSV datasets only).
            Defaults to `"label"`.
        architecture: the model family: `"conv"` (the Conv1D model) or `"dense"` (Embedding →
            GlobalAveragePooling1D → Dense(128) → Dropout → Dense), to compare.
            Defaults to `"conv"`.
        length_batches: train the conv model on batches of texts of similar length, each cut
            to the padding it needs (the trained model's outputs on a cut batch are those at
            `sequence_length`; IMDB trains about 1.4x faster); `--no-length-batches` pads every
            batch to `sequence_length`, as the dense model and multi-worker runs always do.
            Defaults to True.
    """

    task: ClassVar[str] = "sentiment"

    dataset: str = "movie_reviews"
    epochs: int = 10
    patience: int = 2
    max_tokens: int = 20000
    sequence_length: int | None = None
    conv_layout: str = "auto"
    embedding_dim: int = 128
    dropout: float = 0.5
    text_column: str = "text"
    label_column: str = "label"
    architecture: str = "conv"
    length_batches: bool = True

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        super().validate()
        checks.check_int(self.max_tokens, "max-tokens", minimum=1)
        if self.sequence_length is not None:
            checks.check_int(self.sequence_length, "sequence-length", minimum=1)
        checks.check_choice(self.conv_layout, "conv-layout", CONV_LAYOUTS)
        checks.check_int(self.embedding_dim, "embedding-dim", minimum=1)
        checks.check_rate(self.dropout)
        checks.check_choice(self.architecture, "architecture", ARCHITECTURES)


LOSSES = ("mae", "mse", "huber")


@dataclass
class RegressConfig(CsvOptions, RunConfig):
    """Options of `tfapps regress`, on top of `RunConfig`.

    Tables are small (an epoch of Auto MPG is 9 steps) and their validation split noisy, so
    regress waits longer before stopping: `epochs` defaults to 1000 and `patience` to 100
    (patience 25 stopped early and scored worse in cross-validation, bench/NOTES.md), and
    `start_from_epoch` to 100, so that a lucky validation loss while the model is still far
    from converged cannot end training and become the kept weights.

    Args:
        target: the column to predict. Required for a CSV. Defaults to the dataset's own
            target (auto_mpg: Miles_per_Gallon, diabetes: progression).
        categorical: columns to one-hot encode although they hold numbers (repeat the option,
            or separate names with commas); columns of strings are categorical anyway.
            Defaults to none.
        drop: columns to ignore, such as IDs (repeat the option, or separate names with
            commas). Defaults to none.
        hidden_units: units of each hidden Dense(relu) layer (`--hidden-units 64,64`).
            Defaults to `(64, 64)`.
        loss: the training loss: `"mae"` (mean absolute error), `"mse"` (mean squared error)
            or `"huber"`. Defaults to `"mae"`.
        decimal: the CSV's decimal mark, `"."` or `","`. Defaults to automatic: a comma when
            the file's numbers can only be read with one (`1.234,5`, `3,25`), a point
            otherwise (`numbers.detect_number_format`).
        thousands: the characters that group digits by thousands in the CSV's numbers
            (`1,234`; only groups of three are read), `"none"` for none. Defaults to
            automatic: the other mark than the decimal one, spaces and apostrophes.
    """

    task: ClassVar[str] = "regress"

    dataset: str = "auto_mpg"
    epochs: int = 1000
    patience: int = 100
    start_from_epoch: int = 100
    target: str | None = None
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    hidden_units: tuple[int, ...] = (64, 64)
    loss: str = "mae"
    decimal: str | None = None
    thousands: str | None = None

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        super().validate()
        self.categorical, self.drop = tuple(self.categorical), tuple(self.drop)
        self.hidden_units = checks.check_positive_ints(self.hidden_units, "hidden-units", "64,64")
        checks.check_choice(self.loss, "loss", LOSSES)
        if self.decimal is not None:
            checks.check_choice(self.decimal, "decimal", DECIMAL_MARKS)
        if self.thousands is not None:
            self.thousands = "" if self.thousands.lower() == "none" else self.thousands
            if self.decimal is not None and self.decimal in self.thousands:
                raise checks.invalid(
                    "thousands", "characters other than the decimal mark", self.thousands
                )


CONFIG_CLASSES: dict[str, type[RunConfig]] = {
    c.task: c for c in (ImageConfig, TextConfig, RegressConfig)
}
# The values an option accepts, for the fields that take one of a few names.
CHOICES: dict[str, tuple[str, ...]] = {
    "precision": PRECISIONS,
    "device": DEVICES,
    "strategy": STRATEGIES,
    "architecture": ARCHITECTURES,
    "loss": LOSSES,
    "resize": RESIZE_RULES,
    "class_weight": CLASS_WEIGHTS,
    "conv_layout": CONV_LAYOUTS,
    "decimal": DECIMAL_MARKS,
}
