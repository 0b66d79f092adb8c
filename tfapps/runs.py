"""The run record (run.json) as a type, and the names of a run's files.

Finished runs are the source of truth: `saved_models/summary.csv` and the report page are
rebuilt from their run.json files (found by `run_dirs.finished_runs`). Reading a run needs
neither TensorFlow nor pandas.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfapps.config import RunConfig
from tfapps.data.info import DatasetInfo
from tfapps.errors import InvalidInput
from tfapps.keras_internals import checkpoint_epochs

# The files and folders of a run directory (DESIGN.md, "The run directory").
RUN_JSON = "run.json"
SAVED_MODEL_DIR = "saved_model"
MODEL_KERAS = "model.keras"
VOCABULARY_TXT = "vocabulary.txt"
IDF_WEIGHTS_TXT = "idf_weights.txt"  # n-gram models: the idf weight of each vocabulary line
TEST_SAMPLE = "test_sample.npz"  # raw test examples that `tfapps export` checks files on
SAMPLE_KEY = "examples"  # its array for a model with a single input
HISTORY_CSV = "history.csv"
METRICS_CSV = "metrics.csv"
CONFUSION_MATRIX_CSV = "confusion_matrix.csv"
PER_CLASS_CSV = "per_class.csv"
PREDICTIONS_CSV = "predictions.csv"
TRIALS_CSV = "trials.csv"  # a `tfapps tune` run's trials
SEARCH_DIR = "search"  # a `tfapps tune` run's KerasTuner project and trial directories
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "tensorboard"
EVALUATIONS_DIR = "evaluations"  # `tfapps evaluate` results, one folder per dataset and split
EVALUATION_JSON = "evaluation.json"
# Beside the runs, and inside unfinished ones.
SUMMARY_CSV = "summary.csv"
INCOMPLETE_SUFFIX = ".incomplete"
BACKUP_DIR = "backup"  # the resumable checkpoint, removed when the run is complete
TRAINED_WEIGHTS = "trained.weights.h5"  # in BACKUP_DIR: the final weights, kept until the end
PHASES_JSON = "phases.json"  # in BACKUP_DIR: the training phases finished (`tfapps.phases`)
CLAIM_LOCK = ".running.lock"  # held by the process training the run

COMPLETE = "complete"
# The SavedModel's signature and its output, as TF Serving names them; a classifier whose
# task serves class names (`Task.serves_class_names`) also outputs each example's class.
SERVING_ENDPOINT = "serving_default"
OUTPUT_NAME = "predictions"
CLASS_OUTPUT = "classes"


@dataclass
class RunRecord:
    """A run's run.json: what was asked, what ran where, on which data, and how it went.

    Args:
        task: the command (a name of `tfapps.tasks.TASKS`).
        run_id: the run's id (its UTC start time).
        status: `"running"`, `"reporting"` (trained, writing results), `"complete"`,
            `"interrupted"` or `"failed"`.
        started_at: UTC start time, ISO 8601.
        config: the options, as `RunConfig.to_dict` writes them.
        tfapps_version: the tfapps version that started the run.
        seed: the run's `--seed`.
        versions: versions of Python and the main packages.
        compute: device, precision, strategy, replicas and workers (`RuntimeSetup.describe`).
        dataset: what was read (`DatasetInfo`).
        timings: seconds spent loading data, training, evaluating, exporting and in total.
        training: epochs run, best epoch, batch sizes, examples per second, parameters.
        headline: `{"split", "metric", "value"}` of the test metric summary.csv shows.
        finished_at: UTC time the run completed.
        resumed_at: UTC times of each resume.
        interrupted_at: UTC time of the last interruption.
        error: `"Type: message"` of the failure that stopped the run.
        exports: the formats `tfapps export` wrote, with how they agreed with the SavedModel.
        tune: for a run of `tfapps tune`: the search's options (`options`, `argv`), its
            objective, knobs and outcome (trials, the best trial, the defaults' score); the
            run's `config` is the best trial's, trained on train + validation. Empty for a
            training command's run.
        extra: keys of run.json this version does not know, kept as they are.
        directory: the run directory the record was read from (not written to run.json).
    """

    task: str = ""
    run_id: str = ""
    status: str = ""
    started_at: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    tfapps_version: str = ""
    seed: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    compute: dict[str, Any] = field(default_factory=dict)
    dataset: DatasetInfo = field(default_factory=lambda: DatasetInfo(name="", source=""))
    timings: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    finished_at: str | None = None
    resumed_at: list[str] = field(default_factory=list)
    interrupted_at: str | None = None
    error: str | None = None
    exports: list[dict[str, Any]] = field(default_factory=list)
    tune: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = field(default=None, compare=False, repr=False)

    @property
    def run_config(self) -> RunConfig:
        """The run's options as the task's config class (missing options take defaults).

        Raises:
            InvalidInput: when the recorded task is unknown.
        """
        from tfapps.tasks import config_from_dict

        return config_from_dict(self.config)

    @property
    def architecture(self) -> str:
        """The model family summary.csv and the report name: the pretrained backbone a
        model was built on (`training.backbone`), else the architecture `--architecture
        auto` chose (`training.architecture`), else the option, else `"dense"` (tasks
        without one)."""
        training = self.training
        return (
            training.get("backbone")
            or training.get("architecture")
            or self.config.get("architecture", "dense")
        )

    @property
    def is_complete(self) -> bool:
        return self.status == COMPLETE

    def to_dict(self) -> dict[str, Any]:
        """Returns run.json's content: every field but `directory`, without empty optionals."""
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("extra", "directory")
        }
        values["dataset"] = self.dataset.to_dict()
        optional = (
            "finished_at",
            "resumed_at",
            "interrupted_at",
            "error",
            "training",
            "headline",
            "exports",
            "tune",
        )
        values = {k: v for k, v in values.items() if not (k in optional and not v)}
        return {**values, **self.extra}

    @classmethod
    def from_dict(cls, values: dict[str, Any], directory: Path | None = None) -> RunRecord:
        """Rebuilds a record from run.json's content; unknown keys go to `extra`."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra", "directory"}
        known = {k: v for k, v in values.items() if k in names}
        known["dataset"] = DatasetInfo.from_dict(known.get("dataset") or {})
        extra = {k: v for k, v in values.items() if k not in names}
        return cls(**known, extra=extra, directory=directory)

    @classmethod
    def load(cls, run_dir: Path) -> RunRecord:
        """Reads `run_dir/run.json`.

        Raises:
            InvalidInput: when the directory has no run.json or it does not parse.
        """
        path = Path(run_dir) / RUN_JSON
        try:
            values = json.loads(path.read_text())
        except FileNotFoundError:
            raise InvalidInput(
                f"{run_dir} is not a tfapps run directory: it has no {RUN_JSON}."
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InvalidInput(f"Cannot parse {path}: {error}.") from None
        if not isinstance(values, dict):
            raise InvalidInput(f"Cannot parse {path}: expected a JSON object.")
        return cls.from_dict(values, Path(run_dir))

    def write(self, run_dir: Path) -> None:
        """Writes `run_dir/run.json` atomically."""
        write_json(Path(run_dir) / RUN_JSON, self.to_dict())


def load_finished(path: str | Path) -> RunRecord:
    """Loads the record of a finished run, given its directory or its `saved_model/` folder.

    Args:
        path: `saved_models/<task>/<dataset>/<run-id>` or that folder's `saved_model/`.

    Returns:
        The record, with `directory` set to the run directory.

    Raises:
        InvalidInput: naming the path when it does not exist, is not a tfapps run, its
            run.json does not parse, or the run did not finish.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InvalidInput(f"Run directory does not exist: {path}")
    run_dir = path.parent if path.name == SAVED_MODEL_DIR else path
    if not (run_dir / RUN_JSON).is_file():
        raise InvalidInput(
            f"{path} is not a tfapps run directory: expected a folder holding run.json and "
            "saved_model/ (saved_models/<task>/<dataset>/<run-id>) or its saved_model/ folder."
        )
    record = RunRecord.load(run_dir)
    if not record.is_complete or not record.task:
        raise InvalidInput(
            f"{run_dir} is not a finished run (status {record.status or None!r} in run.json)."
        )
    return record


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Writes JSON atomically (temporary file, then rename)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(temp, path)


def finished_epochs(run_dir: Path) -> int:
    """Returns how many epochs a run's checkpoint holds (0 without one): where it resumes.

    A run trained in phases (`tfapps.phases`) keeps a checkpoint per phase in a folder of
    `backup/` and the finished phases' record; epochs count across the phases.
    """
    backup = Path(run_dir) / BACKUP_DIR
    phases = [checkpoint_epochs(folder) for folder in backup.glob("*/") if folder.is_dir()]
    finished = [record.first_epoch + record.epochs_run for record in read_phases(backup)]
    return max([checkpoint_epochs(backup), *phases, *finished])


@dataclass
class PhaseRecord:
    """What a finished phase did, as run.json's `training.phases` holds it.

    Args:
        name: the phase's name.
        first_epoch: its first epoch (0-based, counted across the phases).
        epochs_run: the epochs it ran (across resumes).
        epochs_planned: its maximum epochs.
        features_cached: whether it trained on features computed once.
        val_loss: the validation loss of the weights it ended with (its best epoch's).
        kept: whether the run kept its weights (the lowest `val_loss` of all phases).
        facts: the phase's settings (`Phase.facts`: learning rate, layers trained).
    """

    name: str
    first_epoch: int
    epochs_run: int
    epochs_planned: int
    features_cached: bool
    val_loss: float | None
    kept: bool = False
    facts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        return {**{k: v for k, v in values.items() if k != "facts"}, **self.facts}

    @classmethod
    def from_dict(cls, values: dict) -> PhaseRecord:
        names = {f.name for f in dataclasses.fields(cls)} - {"facts"}
        facts = {k: v for k, v in values.items() if k not in names}
        return cls(**{k: v for k, v in values.items() if k in names}, facts=facts)


def read_phases(backup: Path) -> list[PhaseRecord]:
    """The finished training phases recorded in `backup/PHASES_JSON`, in order (none when
    the file is missing, or was cut short by a kill: those phases then run again from their
    checkpoints)."""
    try:
        return [PhaseRecord.from_dict(v) for v in json.loads((backup / PHASES_JSON).read_text())]
    except (OSError, ValueError, KeyError, TypeError):
        return []
