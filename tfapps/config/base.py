"""`RunConfig`: the options every training command shares, validated, with a JSON round trip
and the command line that rebuilds them."""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from tfapps.config import checks
from tfapps.errors import InvalidInput

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
DEVICES = ("auto", "cpu", "gpu")
ARCHITECTURES = ("conv", "dense")
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")
# Options that change training and were added after resumable runs first wrote run.json, with
# the value that reproduces what a run recorded before them did: `RunConfig.from_dict` fills
# them in, so such a run resumes (and its resume command is printed) as it was started.
# Options added since then that do not change the trained weights (steps per call, strategy,
# checkpoint interval) take their defaults.
ADDED_OPTIONS: dict[str, Any] = {
    "start_from_epoch": 0,
    "length_batches": False,
    "augment": False,
    "conv_layout": "stacked",
}


@dataclass
class RunConfig:
    """Options shared by every training command.

    Each field is a command-line option of the same name (`--batch-size` for `batch_size`);
    `tfapps <command> --help` shows the descriptions below.

    Args:
        dataset: what to train on: an embedded dataset name, a TFDS catalog name, or a local
            path (`tfapps datasets` lists them).
        epochs: maximum number of epochs; early stopping may end training sooner.
            Defaults to 20.
        batch_size: examples per training step and replica (the global batch is this times
            the replicas). Defaults to 32.
        learning_rate: Adam learning rate. Defaults to 1e-3.
        validation_split: fraction of the training split held out for validation when the
            dataset has no validation split of its own, in (0, 1). Defaults to 0.1.
        seed: seed for Python, NumPy and TensorFlow: same seed, same machine, same metrics.
            Defaults to 42.
        output_dir: where run directories and summary.csv are written.
            Defaults to `"saved_models"`.
        data_dir: the TFDS data directory. Defaults to TFDS's own (`~/tensorflow_datasets`).
        max_examples: use at most this many training examples (validation and test shrink in
            proportion), for quick runs. Defaults to all.
        precision: the Keras dtype policy: `"auto"` (mixed_float16 on GPUs that support it,
            float32 otherwise), `"float32"`, `"mixed_float16"` or `"mixed_bfloat16"`.
            Defaults to `"auto"`.
        device: where to compute: `"auto"` (all GPUs when present, else the CPU), `"cpu"` or
            `"gpu"`. Defaults to `"auto"`.
        patience: epochs without a better validation loss before early stopping (the best
            weights are restored). Defaults to 5.
        start_from_epoch: how many epochs at the start early stopping ignores: it neither
            stops training in them nor keeps their weights as the best (at `epochs` or more,
            training runs every epoch and keeps the last weights). Defaults to 0.
        steps_per_execution: training steps per call into TensorFlow; more steps cut the
            per-step Python overhead (measured in docs/BENCHMARKS.md), fewer let progress and
            Ctrl-C show sooner. Runs with several replicas use 1. Defaults to automatic: as
            many steps as take about a second, at most 32, estimated from the model's size
            (`training.auto_steps_per_execution`).
        checkpoint_seconds: write the resumable checkpoint at an epoch end once this many
            seconds have passed since the last one (0: every epoch). Saving every short epoch
            would cost more than the epoch; a crash loses at most this much training.
            Defaults to 5.
        strategy: the tf.distribute strategy: `"auto"` (MirroredStrategy over several GPUs,
            else none), `"default"`, `"mirrored"` (all local GPUs, or `cpu_replicas` logical
            CPUs) or `"multi-worker"` (MultiWorkerMirroredStrategy from the `TF_CONFIG`
            environment variable; only the chief writes the run directory).
            Defaults to `"auto"`.
        cpu_replicas: logical CPU devices for `strategy="mirrored"` on a machine without
            GPUs. Defaults to 1.
        quiet: no progress bars; print only the result. Defaults to False.
        debug: show Python tracebacks and TensorFlow's logs. Defaults to False.
    """

    task: ClassVar[str] = ""

    dataset: str = ""
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_split: float = 0.1
    seed: int = 42
    output_dir: str = "saved_models"
    data_dir: str | None = None
    max_examples: int | None = None
    precision: str = "auto"
    device: str = "auto"
    patience: int = 5
    start_from_epoch: int = 0
    steps_per_execution: int | None = None
    checkpoint_seconds: float = 5.0
    strategy: str = "auto"
    cpu_replicas: int = 1
    quiet: bool = False
    debug: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        if not self.dataset:
            raise checks.invalid("dataset", "a dataset name or path", self.dataset)
        if self.epochs is not None:  # None: the task chooses (image-classify)
            checks.check_int(self.epochs, "epochs", minimum=1)
        checks.check_int(self.batch_size, "batch-size", minimum=1)
        checks.check_int(self.patience, "patience", minimum=1)
        checks.check_int(self.start_from_epoch, "start-from-epoch", minimum=0)
        if self.steps_per_execution is not None:
            checks.check_int(self.steps_per_execution, "steps-per-execution", minimum=1)
        if not checks.is_finite_number(self.checkpoint_seconds) or self.checkpoint_seconds < 0:
            raise checks.invalid(
                "checkpoint-seconds", "a number of seconds >= 0", self.checkpoint_seconds
            )
        if not checks.is_finite_number(self.learning_rate) or self.learning_rate <= 0:
            raise checks.invalid("learning-rate", "a number > 0", self.learning_rate)
        if not checks.is_finite_number(self.validation_split) or not 0 < self.validation_split < 1:
            raise checks.invalid(
                "validation-split", "a fraction strictly between 0 and 1", self.validation_split
            )
        if self.max_examples is not None:
            checks.check_int(self.max_examples, "max-examples", minimum=10)
        checks.check_choice(self.precision, "precision", PRECISIONS)
        checks.check_choice(self.device, "device", DEVICES)
        checks.check_choice(self.strategy, "strategy", STRATEGIES)
        checks.check_int(self.cpu_replicas, "cpu-replicas", minimum=1)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-ready dict, including the task name."""
        return {"task": self.task, **dataclasses.asdict(self)}

    @staticmethod
    def from_dict(values: dict[str, Any]) -> RunConfig:
        """Rebuilds the config written by `to_dict` (for example from a run's run.json).

        Options the dict lacks take their value in `ADDED_OPTIONS`, else their default.
        """
        values = {**ADDED_OPTIONS, **values}
        task = values.pop("task", None)
        from tfapps.config.tasks import CONFIG_CLASSES

        if task not in CONFIG_CLASSES:
            raise InvalidInput(f"Unknown task {task!r}; expected one of {sorted(CONFIG_CLASSES)}.")
        config_class = CONFIG_CLASSES[task]
        names = {f.name for f in dataclasses.fields(config_class)}
        return config_class(**{k: v for k, v in values.items() if k in names})

    def to_argv(self) -> list[str]:
        """Returns the command-line options that rebuild this config from the defaults.

        Only options that differ from their defaults are written (never `--quiet` or
        `--debug`); booleans as `--x` or `--no-x`, sequences joined by the field's
        `separator` (`","` unless its metadata names another, as `image_size`'s `"x"`).
        """
        args = []
        for field_ in dataclasses.fields(self):
            value = getattr(self, field_.name)
            if field_.name in ("quiet", "debug") or _as_saved(value) == _as_saved(field_.default):
                continue
            option = "--" + field_.name.replace("_", "-")
            if isinstance(value, bool):
                args.append(option if value else "--no-" + option[2:])
            elif isinstance(value, (tuple, list)):
                args += [option, separator(field_).join(map(str, value))]
            else:
                args += [option, str(value)]
        return args

    def resume_command(self, run_id: str) -> str:
        """Returns the `tfapps` command line that resumes run `run_id` with these options."""
        return shlex.join(["tfapps", self.task, *self.to_argv(), "--resume", run_id])


def separator(field_: dataclasses.Field) -> str:
    """The text between the items of a sequence option on the command line (`32,64`, `28x28`)."""
    return field_.metadata.get("separator", ",")


def _as_saved(value: Any) -> Any:
    """A value as run.json stores it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value
