"""What a task's `build` returns, and the compiling and predicting every task model shares.

A `TaskModel` is the compiled model with how it meets data (preprocessing, batching, assets)
and, for a model trained in stages, its `Phase`s, which `tfapps.phases` runs. Nothing here
imports TensorFlow at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import numpy as np
    import tensorflow as tf

    from tfapps.config import RunConfig
    from tfapps.pipeline import Batcher


@dataclass
class TaskModel:
    """A compiled model and how it meets data.

    Args:
        model: the compiled model that `fit` trains.
        serving_model: the model exported, taking raw input. Defaults to `model`.
        preprocess: maps a batch of raw inputs to `model`'s inputs; applied once before the
            data is cached (e.g. text vectorization). `None` when `model` takes raw input.
        train_examples: the training split as `preprocess` makes it, unbatched, when
            building the model already did part of that work (the text task standardizes
            its training texts once, to count tokens and adapt its vocabulary); `None`
            applies `preprocess` to `splits.train`.
        assets: extra files written beside the model, name to text (e.g. vocabulary.txt).
        batcher: batches the preprocessed examples (see `pipeline.batched`); `None` for
            plain batching.
        architecture: choices made for this data when options were left automatic (such as
            the image model's filters and augmentation), recorded in run.json.
        epochs: the maximum epochs chosen for this data when `--epochs` was left automatic;
            `None` uses the config's. With `phases`, the first phase's.
        phases: training in stages, one `fit` each (such as a new head on a frozen pretrained
            backbone, then fine-tuning its top layers); empty for a single `fit` of `model`.
        trained_phases: what each phase did, filled in by training (`phases.PhaseRecord`
            dicts), recorded in run.json.
    """

    model: keras.Model
    serving_model: keras.Model | None = None
    preprocess: Callable | None = None
    train_examples: tf.data.Dataset | None = None
    assets: dict[str, str] = field(default_factory=dict)
    batcher: Batcher | None = None
    architecture: dict = field(default_factory=dict)
    epochs: int | None = None
    phases: list[Phase] = field(default_factory=list)
    trained_phases: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.serving_model = self.serving_model or self.model


@dataclass
class Phase:
    """One stage of a model's training: a `fit` of its own, with its own epochs, trainable
    layers and learning rate, resumable on its own (`tfapps.phases`).

    Args:
        name: the phase's name in run.json and in its checkpoint's folder (`"head"`).
        epochs: the phase's maximum epochs; early stopping may end it sooner.
        enter: sets which layers train, compiles, and returns the model `fit` trains: the
            task's model, or `head` when `features` is given. No two phases may fit the
            same model object (it may share their layers): Keras' `BackupAndRestore` gives
            the model it restores its checkpoint's epoch for every later `fit` of it.
        features: a frozen part of the model whose outputs are computed once, in inference
            mode, from the raw batches; the phase then trains on those outputs (the model
            `enter` returns takes them). `None` trains on the raw batches.
        facts: what run.json records of the phase's settings (learning rate, layers).
        epochs_option: the option (a config field) that sets `epochs`, for `tfapps tune` to
            train the final model each phase's best epochs. Defaults to `"epochs"`.
    """

    name: str
    epochs: int
    enter: Callable[[], keras.Model]
    features: keras.Model | None = None
    facts: dict = field(default_factory=dict)
    epochs_option: str = "epochs"


def compile_model(
    model: keras.Model,
    config: RunConfig,
    loss,
    metrics: list,
    fixed_shapes: bool = True,
    learning_rate: float | None = None,
) -> None:
    """Compiles with Adam at `--learning-rate` (or `learning_rate`) and
    `--steps-per-execution` steps per call.

    Under a strategy with several replicas one step per call is used: Keras 3.15's multi-step
    loop fails there with an InvalidArgumentError (seen with MirroredStrategy on 2 CPUs).
    XLA is left to Keras (on with a single GPU) unless batches change shape
    (`fixed_shapes=False`): XLA would compile the step again for every shape.

    Args:
        model: the model to compile.
        config: the run's options (`learning_rate`, `steps_per_execution`).
        loss: a Keras loss or its name.
        metrics: Keras metrics or their names.
        fixed_shapes: whether every batch has the same shape. Defaults to True.
        learning_rate: Adam's learning rate instead of `config.learning_rate`. Defaults to
            the config's.
    """
    import keras
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate or config.learning_rate),
        loss=loss,
        metrics=metrics,
        steps_per_execution=(config.steps_per_execution or 1) if replicas == 1 else 1,
        jit_compile="auto" if fixed_shapes else False,
    )


def predict_split(model: keras.Model, batches: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(labels, model outputs)` for batched `(input, label)` data, in order.

    Predicts one step per call: Keras 3.15 builds a multi-step predict function as that many
    copies of the step, traced again for the shorter last call of each split, which took
    longer than the predictions themselves (about 30 s on 2 loaded cores for UCI Adult's
    validation and test splits with table-classify's 32 training steps per call).
    """
    import numpy as np

    steps = model.steps_per_execution
    model.steps_per_execution, model.predict_function = 1, None
    try:
        outputs = model.predict(batches.map(lambda inputs, _: inputs), verbose=0)
    finally:  # the next predict builds its function for the restored steps
        model.steps_per_execution, model.predict_function = steps, None
    labels = np.concatenate(list(batches.map(lambda _, label: label).as_numpy_iterator()))
    return labels, outputs
