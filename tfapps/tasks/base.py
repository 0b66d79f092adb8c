"""The task seam: what differs between tasks, asked of a `Task`, never decided by its name.

A task (image-classify, sentiment, regress, ...) is one module of `tfapps.tasks` that defines
its config class and a `Task` subclass; `tfapps.tasks` registers it. Shared code (api,
training, predict, serve, export, suite, cli) looks the task up and calls it:

- **identity and CLI**: `name`, `config_class`, `description`, `headline_metric`;
- **data**: the embedded datasets, catalog names and local formats it accepts, its
  readers (`read_tfds`, `read_path`), `inspect` (facts of the final training split) and
  `fetch_resources` (what else training needs, such as pretrained weights);
- **model**: `build` (the compiled `TaskModel`) and `evaluate_and_report`;
- **finished runs**: `read_inputs` (predict), `prediction_table`, `check_fits` and
  `evaluation_options` (evaluate), `serving_values` and `serving_aliases` (serve),
  `export_part` (export);
- **train-all**: the options it fixes (`suite_options`), `quick` options and the `variants`
  of `--compare-architectures`;
- **tune**: `search_space` (the knobs `tfapps tune` searches, around the config's own
  values), `max_epochs` and `headline_direction`.

Nothing here imports TensorFlow: a task module imports its heavy parts inside its methods, so
`tfapps --help` can list every task and its options instantly.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tfapps.config import RunConfig
from tfapps.data.embedded import EmbeddedDataset
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from tfapps.data.info import DatasetInfo
    from tfapps.data.splits import Splits
    from tfapps.export_parts import Part
    from tfapps.pipeline import Batcher
    from tfapps.runs import RunRecord
    from tfapps.serving_requests import InputSpec
    from tfapps.tune.space import Space


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
    """

    name: str
    epochs: int
    enter: Callable[[], keras.Model]
    features: keras.Model | None = None
    facts: dict = field(default_factory=dict)


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


class Task(abc.ABC):
    """One task: its options, data, model, reports and how its finished runs are used.

    Attributes:
        name: the command, and the first folder of its run directories (`"regress"`).
        config_class: the task's options, a `RunConfig` subclass.
        description: the command's help text (its first line is the summary).
        headline_metric: the test metric that summary.csv and the CLI show.
        headline_direction: `"max"` when a higher headline metric is better, else `"min"`
            (what `tfapps tune` optimizes on the validation split).
        classifier: whether the model outputs class probabilities.
        serves_class_names: whether the SavedModel's `serving_default` also outputs each
            example's class name (`"classes"`, `string [batch]`) beside the probabilities.
        embedded: datasets shipped inside installed packages, prepared offline through TFDS.
        catalog: TFDS catalog names known to fit (any other is checked once read).
        local_formats: what a local `--dataset` path may hold, in words.
        suite_options: options `train-all` always sets for the task (such as the model it
            shows), which its variants may change.
        quick: options `train-all --quick` sets (a smoke run of a few minutes).
        variants: option sets `train-all --compare-architectures` trains beside the default.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[RunConfig]]
    description: ClassVar[str]
    headline_metric: ClassVar[str]
    headline_direction: ClassVar[str]
    classifier: ClassVar[bool]
    serves_class_names: ClassVar[bool] = False
    embedded: ClassVar[tuple[EmbeddedDataset, ...]] = ()
    catalog: ClassVar[tuple[str, ...]] = ()
    local_formats: ClassVar[str]
    suite_options: ClassVar[dict[str, Any]] = {}
    quick: ClassVar[dict[str, Any]] = {}
    variants: ClassVar[tuple[dict[str, Any], ...]] = ()

    # --- data -------------------------------------------------------------------------------

    @abc.abstractmethod
    def read_tfds(
        self, builder: tfds.core.DatasetBuilder, source: str, config: RunConfig
    ) -> Splits:
        """The splits of a prepared TFDS builder (`source`: `"embedded"` or `"catalog"`).

        Raises:
            InvalidInput: the dataset's features do not fit the task.
        """

    @abc.abstractmethod
    def read_path(self, path: Path, config: RunConfig) -> Splits:
        """The splits of a local file or folder.

        Raises:
            InvalidInput: the path holds nothing the task can read.
        """

    def inspect(self, splits: Splits) -> None:
        """Facts of the final training split that the model needs, recorded in the dataset's
        spec, and a refusal of data the task cannot learn from, before any run directory
        exists (`data.load.load_splits` calls it after `--max-examples`). Defaults to
        nothing.

        Raises:
            InvalidInput: the data leaves the task nothing to learn from.
        """
        return None

    def fetch_resources(self, config: RunConfig, splits: Splits) -> None:
        """Makes sure what training needs besides the data is at hand (such as pretrained
        weights, downloaded once), before any run directory exists (`api.train` calls it
        after reading the data). Defaults to nothing.

        Raises:
            InvalidInput: something training needs cannot be had, and how to get it.
        """
        return None

    # --- model ------------------------------------------------------------------------------

    @abc.abstractmethod
    def build(self, config: RunConfig, splits: Splits) -> TaskModel:
        """The compiled model for these options and data (built under the run's strategy)."""

    def max_epochs(self, config: RunConfig, info: DatasetInfo) -> int:
        """The most epochs training runs for these options and data (Hyperband's longest
        trial). Defaults to `config.epochs`."""
        return config.epochs

    def search_space(self, space: Space, config: RunConfig, info: DatasetInfo) -> RunConfig:
        """The options one trial of `tfapps tune` trains: `config` with the values `space`
        draws for the task's knobs (`space.choice`, `space.integer`, ...).

        Every knob's default is `config`'s own value and options are changed only for
        knobs drawn away from their defaults, so the trial at the defaults (the search's
        first) trains `config` itself. Building the returned config validates it.

        Args:
            space: the search space being declared or a trial's values (`tune.space.Space`).
            config: the options the search starts from.
            info: the data (its spec decides automatic values, such as an image's filters).

        Raises:
            InvalidInput: the task has no search space (the default).
        """
        raise InvalidInput(f"tfapps tune has no search space for {self.name} yet.")

    @abc.abstractmethod
    def evaluate_and_report(
        self,
        task_model: TaskModel,
        batches: dict[str, tf.data.Dataset],
        splits: Splits,
        run_dir: Path,
    ) -> pd.DataFrame:
        """Predicts on the prepared validation and test batches, writes the report tables and
        plots into `run_dir`, and returns the metrics table (split, metric, value)."""

    # --- finished runs ----------------------------------------------------------------------

    @abc.abstractmethod
    def read_inputs(
        self,
        record: RunRecord,
        input_names: list[str],
        inputs: list[str],
        text_per: str | None = None,
    ) -> tuple[list[str], dict[str, np.ndarray]]:
        """What a user gives `tfapps predict`, read the way the model was trained.

        Args:
            record: the run's record.
            input_names: the SavedModel's input names, sorted.
            inputs: files, folders or texts.
            text_per: for text files, `"file"` or `"line"`: how a file holds examples.
                Defaults to the way the model was trained.

        Returns:
            `(one name per example, the model's inputs by name)`.

        Raises:
            InvalidInput: an input the model cannot take, named.
        """

    @abc.abstractmethod
    def prediction_table(
        self, names: list[str], outputs: np.ndarray, record: RunRecord
    ) -> pd.DataFrame:
        """One row per example from the SavedModel's outputs: `input, prediction, ...`."""

    @abc.abstractmethod
    def check_fits(self, info: DatasetInfo, trained: DatasetInfo, dataset: str) -> None:
        """Refuses data the trained model cannot score (other classes, shapes or columns).

        Raises:
            InvalidInput: naming what differs.
        """

    def evaluation_options(self, record: RunRecord) -> dict[str, Any]:
        """Options that make another dataset read as the model was trained (for `evaluate`).
        Defaults to none."""
        return {}

    def adopt_training_facts(self, info: DatasetInfo, trained: DatasetInfo) -> None:
        """Carries facts of the training data that scoring other data needs (for example the
        training mean a regression's baseline uses) into `info`. Defaults to nothing."""
        return None

    @abc.abstractmethod
    def serving_values(self, values: list, spec: InputSpec, record: RunRecord) -> np.ndarray:
        """One input's values from a TF Serving REST request, as the model takes them.

        Raises:
            BadRequest: a value the input cannot take, named.
        """

    def serving_aliases(self, record: RunRecord) -> dict[str, str]:
        """Other names a request may use for the inputs (name to input name), such as a
        table's CSV column names. Defaults to none."""
        return {}

    @abc.abstractmethod
    def export_part(self, model: keras.Model, record: RunRecord, fmt: str) -> Part:
        """The part of the run's model that the export format `fmt` can hold (the whole
        model where it can), with what the rest needs."""

    def accepted(self) -> str:
        """One line listing what `--dataset` accepts, for help and error messages."""
        embedded = ", ".join(dataset.name for dataset in self.embedded)
        return (
            f"an embedded dataset ({embedded}), a TFDS catalog name (e.g. "
            f"{', '.join(self.catalog)}), or {self.local_formats}"
        )

    def load_model(self, path: Path) -> keras.Model:
        """Loads a run's model.keras (Keras' safe mode on)."""
        import keras

        return keras.models.load_model(path, safe_mode=True)
