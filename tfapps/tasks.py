"""What differs between tasks: how to build and compile the model, and how to report on it.

Everything else (data resolution, runtime, fit, export, run directory) is shared in `api.train`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfapps import models, reports, runs
from tfapps.config import ImageConfig, RegressConfig, RunConfig, TextConfig
from tfapps.data.splits import Splits, count_examples
from tfapps.pipeline import PREPROCESS_BATCH, Batcher
from tfapps.token_batches import TokenCut

TEXT_PREVIEW_CHARS = 200
REGRESSION_LOSSES = {"mae": "mean_absolute_error", "mse": "mean_squared_error", "huber": "huber"}


@dataclass
class TaskModel:
    """A compiled model and how it meets data.

    Args:
        model: the compiled model that `fit` trains.
        serving_model: the model exported, taking raw input. Defaults to `model`.
        preprocess: maps a batch of raw inputs to `model`'s inputs; applied once before the
            data is cached (e.g. text vectorization). `None` when `model` takes raw input.
        assets: extra files written beside the model, name to text (e.g. vocabulary.txt).
        batcher: batches the preprocessed examples (see `pipeline.batched`); `None` for
            plain batching.
        architecture: choices made for this data when options were left automatic (such as
            the image model's filters and augmentation), recorded in run.json.
        epochs: the maximum epochs chosen for this data when `--epochs` was left automatic;
            `None` uses the config's.
    """

    model: keras.Model
    serving_model: keras.Model | None = None
    preprocess: Callable | None = None
    assets: dict[str, str] = field(default_factory=dict)
    batcher: Batcher | None = None
    architecture: dict = field(default_factory=dict)
    epochs: int | None = None

    def __post_init__(self) -> None:
        self.serving_model = self.serving_model or self.model


@dataclass(frozen=True)
class Task:
    """The task-specific steps of a run.

    Args:
        build: returns the compiled `TaskModel` for the config and the splits.
        evaluate_and_report: predicts with the trained model on prepared validation and test
            batches, scores the predictions and writes the report tables and plots into a
            directory; returns the metrics table.
        headline_metric: the test metric that summary.csv shows.
    """

    build: Callable[[RunConfig, Splits], TaskModel]
    evaluate_and_report: Callable[
        [TaskModel, dict[str, tf.data.Dataset], Splits, Path], pd.DataFrame
    ]
    headline_metric: str


def predict_split(model: keras.Model, batches: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(labels, model outputs)` for batched `(input, label)` data, in order."""
    outputs = model.predict(batches.map(lambda inputs, _: inputs), verbose=0)
    labels = np.concatenate(list(batches.map(lambda _, label: label).as_numpy_iterator()))
    return labels, outputs


def _compile(
    model: keras.Model, config: RunConfig, loss, metrics: list, fixed_shapes: bool = True
) -> None:
    """Compiles with Adam at `--learning-rate` and `--steps-per-execution` steps per call.

    Under a strategy with several replicas one step per call is used: Keras 3.15's multi-step
    loop fails there with an InvalidArgumentError (seen with MirroredStrategy on 2 CPUs).
    XLA is left to Keras (on with a single GPU) unless batches change shape
    (`fixed_shapes=False`): XLA would compile the step again for every shape.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=loss,
        metrics=metrics,
        steps_per_execution=(config.steps_per_execution or 1) if replicas == 1 else 1,
        jit_compile="auto" if fixed_shapes else False,
    )


def _classifier_loss(num_classes: int) -> str:
    return "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"


def _build_image_classifier(config: ImageConfig, splits: Splits) -> TaskModel:
    shape = splits.info.input_shape
    augment = models.auto_augment(shape) if config.augment is None else config.augment
    filters = config.filters or models.auto_filters(shape)
    model = models.build_image_classifier(
        shape,
        len(splits.info.class_names),
        filters=filters,
        dropout=config.dropout,
        architecture=config.architecture,
        augment=augment,
    )
    _compile(model, config, "sparse_categorical_crossentropy", ["accuracy"])
    architecture = {"augment": augment}
    if config.architecture == "conv":
        architecture["filters"] = list(filters)
    epochs = config.epochs or models.auto_epochs(shape)
    return TaskModel(model, architecture=architecture, epochs=epochs)


def _build_text_classifier(config: TextConfig, splits: Splits) -> TaskModel:
    texts = splits.train.map(lambda text, _: text).batch(PREPROCESS_BATCH)
    counts = token_counts(texts)
    sequence_length = config.sequence_length or models.auto_sequence_length(counts)
    layout = models.auto_conv_layout(counts) if config.conv_layout == "auto" else config.conv_layout
    vectorizer = models.build_text_vectorizer(config.max_tokens, sequence_length)
    vectorizer.adapt(texts)
    vocabulary = vectorizer.get_vocabulary()
    num_classes = len(splits.info.class_names)
    classifier = models.build_text_classifier(
        len(vocabulary),
        sequence_length,
        num_classes,
        embedding_dim=config.embedding_dim,
        dropout=config.dropout,
        architecture=config.architecture,
        conv_layout=layout,
    )
    batcher = text_batcher(config, classifier, sequence_length, layout)
    loss = _classifier_loss(num_classes)
    _compile(classifier, config, loss, ["accuracy"], fixed_shapes=batcher is None)
    stacked = config.architecture == "conv" and layout == "stacked"
    trim = TokenCut.for_model(classifier, sequence_length) if stacked else None
    return TaskModel(
        model=classifier,
        serving_model=models.build_end_to_end(vectorizer, classifier, "sentiment_classifier", trim),
        preprocess=lambda texts, labels: (vectorizer(texts), labels),
        assets={runs.VOCABULARY_TXT: "\n".join(vocabulary) + "\n"},
        batcher=batcher,
        architecture={
            "sequence_length": sequence_length,
            "median_tokens": float(np.median(counts)),
            **({"conv_layout": layout} if config.architecture == "conv" else {}),
        },
    )


def token_counts(texts: tf.data.Dataset) -> np.ndarray:
    """Tokens in each text as the model's vectorizer splits them (`models.standardize_text`,
    then whitespace), over batches of texts."""
    counts = texts.map(lambda batch: tf.strings.split(models.standardize_text(batch)).row_lengths())
    return np.concatenate([c for c in counts.as_numpy_iterator()] or [np.zeros(0, np.int64)])


def text_batcher(
    config: TextConfig, classifier: keras.Model, sequence_length: int, layout: str
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
    if config.architecture != "conv" or layout != "stacked" or not config.length_batches:
        return None
    return TokenCut.for_model(classifier, sequence_length).batch


def _build_regressor(config: RegressConfig, splits: Splits) -> TaskModel:
    columns = splits.info.details["columns"]
    train = splits.train.batch(count_examples(splits.train))
    features, targets = next(iter(train.as_numpy_iterator()))
    scale = models.target_scaling(targets)
    model = models.build_regressor(
        features,
        categorical=[c["input"] for c in columns if c["kind"] == "categorical"],
        hidden_units=config.hidden_units,
        target_scale=scale,
    )
    rmse = keras.metrics.RootMeanSquaredError(name="rmse")
    _compile(model, config, REGRESSION_LOSSES[config.loss], ["mae", rmse])
    standardized = None if scale is None else {"mean": scale[0], "std": scale[1]}
    return TaskModel(model, architecture={"target_standardized": standardized})


def _evaluate_regressor(
    task_model: TaskModel, batches: dict[str, tf.data.Dataset], splits: Splits, run_dir: Path
) -> pd.DataFrame:
    results = {}
    for split, data in batches.items():
        targets, outputs = predict_split(task_model.model, data)
        results[split] = targets, outputs[:, 0]
    return reports.write_regression_report(
        run_dir, results, splits.info.details["target_mean_train"]
    )


def _evaluate_classifier(
    task_model: TaskModel,
    batches: dict[str, tf.data.Dataset],
    splits: Splits,
    run_dir: Path,
    test_inputs: dict[str, list] | None = None,
) -> pd.DataFrame:
    results = {}
    for split, data in batches.items():
        labels, outputs = predict_split(task_model.model, data)
        results[split] = labels, reports.class_probabilities(outputs)
    return reports.write_classification_report(
        run_dir, results, splits.info.class_names, test_inputs
    )


def _evaluate_text_classifier(
    task_model: TaskModel, batches: dict[str, tf.data.Dataset], splits: Splits, run_dir: Path
) -> pd.DataFrame:
    reported = getattr(splits, list(batches)[-1])  # the split predictions.csv shows
    texts = [
        reports.preview(t.decode("utf-8", "replace"), TEXT_PREVIEW_CHARS)
        for t, _ in reported.as_numpy_iterator()
    ]
    return _evaluate_classifier(task_model, batches, splits, run_dir, {"text": texts})


TASKS: dict[str, Task] = {
    ImageConfig.task: Task(_build_image_classifier, _evaluate_classifier, "accuracy"),
    TextConfig.task: Task(_build_text_classifier, _evaluate_text_classifier, "accuracy"),
    RegressConfig.task: Task(_build_regressor, _evaluate_regressor, "mae"),
}
