"""Run configurations: every knob of a run, validated, with a JSON round trip.

This module imports nothing heavy, so the CLI can read defaults from it for `--help`.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
ADDED_OPTIONS: dict[str, Any] = {"start_from_epoch": 0, "length_batches": False}


def _invalid(option: str, expected: str, received: Any) -> InvalidInput:
    """Builds the one-line error for a bad option value, Keras style."""
    message = f"Invalid value for --{option}: expected {expected}. Received: {received!r}"
    return InvalidInput(message)


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
            per-step Python overhead (measured in docs/BENCHMARKS.md), and Ctrl-C then takes
            effect after the current group of steps. Runs with several replicas use 1.
            Defaults to 32.
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
    steps_per_execution: int = 32
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
            raise _invalid("dataset", "a dataset name or path", self.dataset)
        _check_int(self.epochs, "epochs", minimum=1)
        _check_int(self.batch_size, "batch-size", minimum=1)
        _check_int(self.patience, "patience", minimum=1)
        _check_int(self.start_from_epoch, "start-from-epoch", minimum=0)
        _check_int(self.steps_per_execution, "steps-per-execution", minimum=1)
        if not _is_finite_number(self.checkpoint_seconds) or self.checkpoint_seconds < 0:
            raise _invalid(
                "checkpoint-seconds", "a number of seconds >= 0", self.checkpoint_seconds
            )
        if not _is_finite_number(self.learning_rate) or self.learning_rate <= 0:
            raise _invalid("learning-rate", "a number > 0", self.learning_rate)
        if not _is_finite_number(self.validation_split) or not 0 < self.validation_split < 1:
            raise _invalid(
                "validation-split", "a fraction strictly between 0 and 1", self.validation_split
            )
        if self.max_examples is not None:
            _check_int(self.max_examples, "max-examples", minimum=10)
        _check_choice(self.precision, "precision", PRECISIONS)
        _check_choice(self.device, "device", DEVICES)
        _check_choice(self.strategy, "strategy", STRATEGIES)
        _check_int(self.cpu_replicas, "cpu-replicas", minimum=1)

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


@dataclass
class ImageConfig(RunConfig):
    """Options of `tfapps image-classify`, on top of `RunConfig`.

    Args:
        filters: Conv2D filters of each Conv2D → MaxPooling2D block, one block per number
            (`--filters 32,64`). Defaults to `(32, 64)`.
        dropout: dropout rate before the softmax layer. Defaults to 0.5.
        architecture: the model family: `"conv"` (the convnet) or `"dense"` (Rescaling →
            Flatten → Dense(128) → Dropout → Dense(softmax)), to compare. Defaults to `"conv"`.
        image_size: `(height, width)` every image is resized to (`--image-size 28x28`).
            Defaults to the dataset's own size (for a folder, its most common size).
    """

    task: ClassVar[str] = "image-classify"

    dataset: str = "digits"
    epochs: int = 40
    patience: int = 8
    filters: tuple[int, ...] = field(default=(32, 64))
    dropout: float = 0.5
    architecture: str = "conv"
    image_size: tuple[int, int] | None = field(
        default=None, metadata={"separator": "x", "example": "28x28"}
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        super().validate()
        self.filters = tuple(self.filters)
        if not self.filters or not all(_is_int(f) and f >= 1 for f in self.filters):
            raise _invalid(
                "filters",
                "comma-separated integers >= 1, such as 32,64",
                ",".join(map(str, self.filters)),
            )
        _check_rate(self.dropout)
        _check_choice(self.architecture, "architecture", ARCHITECTURES)
        if self.image_size is not None:
            self.image_size = tuple(self.image_size)
            if len(self.image_size) != 2 or not all(_is_int(s) and s >= 1 for s in self.image_size):
                raise _invalid(
                    "image-size",
                    "HEIGHTxWIDTH with both >= 1, such as 28x28",
                    "x".join(map(str, self.image_size)),
                )


@dataclass
class TextConfig(RunConfig):
    """Options of `tfapps sentiment`, on top of `RunConfig`.

    Args:
        max_tokens: vocabulary size of the TextVectorization layer (adapted on the training
            split only). Defaults to 20000.
        sequence_length: tokens kept per text; longer texts are cut, shorter ones padded.
            Defaults to 500.
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
    sequence_length: int = 500
    embedding_dim: int = 128
    dropout: float = 0.5
    text_column: str = "text"
    label_column: str = "label"
    architecture: str = "conv"
    length_batches: bool = True

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        super().validate()
        _check_int(self.max_tokens, "max-tokens", minimum=1)
        _check_int(self.sequence_length, "sequence-length", minimum=1)
        _check_int(self.embedding_dim, "embedding-dim", minimum=1)
        _check_rate(self.dropout)
        _check_choice(self.architecture, "architecture", ARCHITECTURES)


LOSSES = ("mae", "mse", "huber")


@dataclass
class RegressConfig(RunConfig):
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

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        super().validate()
        self.categorical, self.drop = tuple(self.categorical), tuple(self.drop)
        self.hidden_units = tuple(self.hidden_units)
        if not self.hidden_units or not all(_is_int(u) and u >= 1 for u in self.hidden_units):
            raise _invalid(
                "hidden-units",
                "comma-separated integers >= 1, such as 64,64",
                ",".join(map(str, self.hidden_units)),
            )
        _check_choice(self.loss, "loss", LOSSES)


def separator(field_: dataclasses.Field) -> str:
    """The text between the items of a sequence option on the command line (`32,64`, `28x28`)."""
    return field_.metadata.get("separator", ",")


def _as_saved(value: Any) -> Any:
    """A value as run.json stores it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


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
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_choice(value: Any, option: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _invalid(option, "one of " + "|".join(choices), value)


def _check_rate(value: Any, option: str = "dropout") -> None:
    if not _is_finite_number(value) or not 0 <= value < 1:
        raise _invalid(option, "a rate in [0, 1)", value)


def _check_int(value: Any, option: str, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise _invalid(option, f"an integer >= {minimum}", value)
