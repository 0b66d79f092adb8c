"""`tfapps table-classify`: the Dense classifier for tables, from its options to its served
model.

Tables are read by `data.tables` with the class target rule (`table_classes.ClassTarget`),
missing numbers kept as NaN for the model to impute (as for every table task); the model is
`table_classifier_model.build_table_classifier`; the table half (predict, serve, the column
check) is `tables.TableTask`'s, the classifier half (scores, report) `ClassifierTask`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from tfapps.config import RunConfig
from tfapps.config.fields import documented, option, redefault
from tfapps.config.options import ClassifierOptions, TableOptions
from tfapps.data.embedded import EmbeddedDataset
from tfapps.tasks.classifiers import ClassifierTask, classifier_loss
from tfapps.tasks.table_classes import ClassTarget
from tfapps.tasks.tables import TableTask
from tfapps.tasks.task_model import TaskModel, compile_model

if TYPE_CHECKING:
    import keras

    from tfapps.data.info import DatasetInfo
    from tfapps.data.splits import Splits
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord

NUMERIC_ENCODINGS = ("auto", "periodic", "normalized")  # `table_classifier_model`
# `--numeric-encoding auto` embeds numbers periodically from this many training rows. On UCI
# Adult the periodic embedding scored higher than plain normalized numbers with 1,000, 2,000,
# 4,000 and all 35,167 training rows (test accuracy +1.3, +0.7, +0.9 and +0.6 points), while
# on the 248 training penguins it overfit (one borderline test penguin lost in one seed of
# three; normalized numbers: none in three).
PERIODIC_MIN_ROWS = 1000


@documented
@dataclass
class TableClassifyConfig(ClassifierOptions, TableOptions, RunConfig):
    """Options of `tfapps table-classify`, on top of `RunConfig`.

    The defaults were measured on UCI Adult (35,167 training rows) and the Palmer penguins
    (248), on tfapps' own splits, beside scikit-learn's gradient boosting and logistic
    regression: batches of 64 and early stopping after 10 epochs without a better
    validation loss let the penguins take the 20 to 100 epochs they need while Adult stops
    after 25 to 35. In a prototype of this model (mean test accuracy on Adult over 3 seeds),
    Dropout(0.2) after each Dense(64) scored 0.867 against 0.864 without, and embedding the
    categorical columns of more than 5 values (Adult's education, occupation, native
    country, ...) 0.868, as embedding them all, against 0.866 for more than 10.
    """

    task: ClassVar[str] = "table-classify"

    dataset: str = redefault(RunConfig, "dataset", "penguins")
    epochs: int = redefault(RunConfig, "epochs", 300)
    batch_size: int = redefault(RunConfig, "batch_size", 64)
    patience: int = redefault(RunConfig, "patience", 10)
    target: str | None = redefault(
        TableOptions,
        "target",
        None,
        automatic="the dataset's own target (penguins: species, titanic: survived)",
    )
    hidden_units: tuple[int, ...] = option(
        (64, 64), "units of each hidden Dense(relu) layer (`--hidden-units 64,64`)."
    )
    dropout: float = option(0.2, "dropout rate after each hidden Dense layer.", rate=True)
    embed_above: int = option(
        5,
        "categorical columns with more distinct values than this go through an Embedding "
        "(8 outputs), the others are one-hot encoded.",
        minimum=1,
    )
    numeric_encoding: str = option(
        "auto",
        "how normalized numbers enter the Dense layers: periodic (sin and cos of learned "
        "frequencies, then Dense(relu), per column: Gorishniy et al. 2022's PLR embedding), "
        "normalized (as they are), or auto: periodic from 1,000 training rows "
        "(`PERIODIC_MIN_ROWS`), normalized below, where the embedding overfits.",
        choices=NUMERIC_ENCODINGS,
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        from tfapps.config import checks

        super().validate()
        self.hidden_units = checks.check_positive_ints(self.hidden_units, "hidden-units", "64,64")


class TableClassifyTask(TableTask, ClassifierTask):
    """Classification on a table: named raw columns in, class probabilities out."""

    name = "table-classify"
    config_class = TableClassifyConfig
    description = """Train a Dense classifier on a table: one named input per column → numbers
    (missing ones filled with the training median, plus a missing-indicator) → Normalization
    [→ periodic embedding]; categories → StringLookup one-hot, or Embedding for many values →
    [Dense(relu) → Dropout] ×n → Dense(sigmoid) for 2 classes, Dense(softmax) for more.

    The exported SavedModel takes a dict of named raw columns (float32 numbers, NaN where
    missing; strings for categorical columns) and returns the class probabilities
    ("predictions") and the most probable class's name ("classes").

    \b
    Examples:
      tfapps table-classify                            # embedded Palmer penguins (344)
      tfapps table-classify --dataset titanic          # TFDS catalog (target: survived)
      tfapps table-classify --dataset churn.csv --target churned --drop customer_id
      tfapps table-classify --dataset adult.csv --target income --class-weight balanced
    """
    embedded = (
        EmbeddedDataset(
            name="penguins",
            examples=344,
            origin="palmerpenguins (its bundled penguins.csv)",
            description="Palmer penguins: species (3) from island, sex and 4 measurements, "
            "some missing",
            builder="tfapps.data.penguins:Penguins",
        ),
    )
    catalog = ("titanic",)
    quick = {"epochs": 50}
    target_rule = ClassTarget()
    probability_columns = True
    serves_class_names = True

    def build(self, config: TableClassifyConfig, splits: Splits) -> TaskModel:
        from tfapps.data.splits import count_examples
        from tfapps.tasks.table_classifier_model import build_table_classifier, encode_columns

        rows = count_examples(splits.train)
        features, _ = next(iter(splits.train.batch(rows).as_numpy_iterator()))
        num_classes = len(splits.info.class_names)
        encoding = config.numeric_encoding
        if encoding == "auto":
            encoding = "periodic" if rows >= PERIODIC_MIN_ROWS else "normalized"
        classifier = build_table_classifier(
            features,
            splits.info.spec.columns,
            num_classes,
            hidden_units=config.hidden_units,
            dropout=config.dropout,
            embed_above=config.embed_above,
            numeric_encoding=encoding,
        )
        compile_model(classifier.encoded_model, config, classifier_loss(num_classes), ["accuracy"])
        lookups = classifier.lookups
        names = splits.info.class_names
        return TaskModel(
            model=classifier.encoded_model,
            serving_model=classifier.model,
            preprocess=lambda columns, labels: (encode_columns(lookups, columns), labels),
            architecture={
                "numeric_encoding": encoding,
                "embedded_columns": classifier.embedded,
                "missing_indicators": classifier.indicated,
                **({"positive_class": names[1]} if num_classes == 2 else {}),
            },
        )

    def check_fits(self, info: DatasetInfo, trained: DatasetInfo, dataset: str) -> None:
        """Refuses other feature columns, another target, or other classes."""
        TableTask.check_fits(self, info, trained, dataset)
        ClassifierTask.check_fits(self, info, trained, dataset)

    def export_part(self, model: keras.Model, record: RunRecord, fmt: str) -> Part:
        """ONNX and LiteRT have no string ops (StripSpaces, StringLookup): they hold
        `encoded_model` (`table_classifier_model.encoded_classifier_part`); a SavedModel
        holds the whole model."""
        from tfapps.export_parts import STRING_PREPROCESSING, raw_part
        from tfapps.tasks.table_classifier_model import encoded_classifier_part

        if fmt in STRING_PREPROCESSING:
            return encoded_classifier_part(model, record)
        return raw_part(model, classifier=True)


TASK = TableClassifyTask()
