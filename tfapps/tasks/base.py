"""The task seam: what differs between tasks, asked of a `Task`, never decided by its name.

A task (image-classify, sentiment, regress, ...) is one module of `tfapps.tasks` that defines
its config class and a `Task` subclass; `tfapps.tasks` registers it. Shared code (api,
training, predict, serve, export, suite, cli) looks the task up and calls it:

- **identity and CLI**: `name`, `config_class`, `description`, `headline_metric`;
- **data**: the embedded datasets, catalog names and local formats it accepts, its
  readers (`read_tfds`, `read_path`), `inspect` (facts of the final training split) and
  `fetch_resources` (what else training needs, such as pretrained weights);
- **model**: `build` (the compiled `TaskModel`, `tfapps.tasks.task_model`) and
  `evaluate_and_report`;
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
    from tfapps.runs import RunRecord
    from tfapps.serving_requests import InputSpec
    from tfapps.tasks.task_model import TaskModel
    from tfapps.tune.space import Space


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

    def tuned_info(self, config: RunConfig, info: DatasetInfo) -> DatasetInfo:
        """The data's facts as a trial of `config` (or the final training of a search) trains
        on them: `info`, unless a knob changes a fact the data carry (an image backbone).
        Defaults to `info`."""
        return info

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
