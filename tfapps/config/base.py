"""`RunConfig`: the options every training command shares, validated, with a JSON round trip
and the command line that rebuilds them."""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from tfapps.config import checks
from tfapps.config.fields import check_fields, documented, option, to_argv

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
DEVICES = ("auto", "cpu", "gpu")
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")


@documented
@dataclass
class RunConfig:
    """Options shared by every training command.

    Each field is a command-line option of the same name (`--batch-size` for `batch_size`);
    `tfapps <command> --help` shows the descriptions below. `task` names the command the
    config belongs to (set by each task's config class).
    """

    task: ClassVar[str] = ""

    dataset: str = option(
        "",
        "what to train on: an embedded dataset name, a TFDS catalog name, or a local path "
        "(`tfapps datasets` lists them).",
    )
    epochs: int = option(
        20, "maximum number of epochs; early stopping may end training sooner.", minimum=1
    )
    batch_size: int = option(
        32,
        "examples per training step and replica (the global batch is this times the replicas).",
        minimum=1,
    )
    learning_rate: float = option(1e-3, "Adam learning rate.")
    validation_split: float = option(
        0.1,
        "fraction of the training split held out for validation when the dataset has no "
        "validation split of its own, in (0, 1).",
    )
    seed: int = option(
        42, "seed for Python, NumPy and TensorFlow: same seed, same machine, same metrics."
    )
    output_dir: str = option("saved_models", "where run directories and summary.csv are written.")
    data_dir: str | None = option(
        None,
        "the TFDS data directory.",
        automatic="TFDS's own (~/tensorflow_datasets)",
    )
    max_examples: int | None = option(
        None,
        "use at most this many training examples (validation and test shrink in proportion), "
        "for quick runs.",
        automatic="all",
        minimum=10,
    )
    precision: str = option(
        "auto",
        "the Keras dtype policy: auto (mixed_float16 on GPUs that support it, float32 "
        "otherwise), float32, mixed_float16 or mixed_bfloat16.",
        choices=PRECISIONS,
    )
    device: str = option(
        "auto",
        "where to compute: auto (all GPUs when present, else the CPU), cpu or gpu.",
        choices=DEVICES,
    )
    patience: int = option(
        5,
        "epochs without a better validation loss before early stopping (the best weights are "
        "restored).",
        minimum=1,
    )
    start_from_epoch: int = option(
        0,
        "how many epochs at the start early stopping ignores: it neither stops training in "
        "them nor keeps their weights as the best (at `epochs` or more, training runs every "
        "epoch and keeps the last weights).",
        minimum=0,
    )
    steps_per_execution: int | None = option(
        None,
        "training steps per call into TensorFlow; more steps cut the per-step Python overhead "
        "(measured in docs/BENCHMARKS.md), fewer let progress and Ctrl-C show sooner. Runs "
        "with several replicas use 1.",
        automatic="as many steps as take about a second, at most 32, estimated from the "
        "model's size (`steps_per_execution.auto_steps_per_execution`)",
        minimum=1,
    )
    checkpoint_seconds: float = option(
        5.0,
        "write the resumable checkpoint at an epoch end once this many seconds have passed "
        "since the last one (0: every epoch). Saving every short epoch would cost more than "
        "the epoch; a crash loses at most this much training.",
    )
    strategy: str = option(
        "auto",
        "the tf.distribute strategy: auto (MirroredStrategy over several GPUs, else none), "
        "default, mirrored (all local GPUs, or `cpu_replicas` logical CPUs) or multi-worker "
        "(MultiWorkerMirroredStrategy from the TF_CONFIG environment variable; only the "
        "chief writes the run directory).",
        choices=STRATEGIES,
    )
    cpu_replicas: int = option(
        1, "logical CPU devices for `strategy=mirrored` on a machine without GPUs.", minimum=1
    )
    quiet: bool = option(False, "no progress bars; print only the result.")
    debug: bool = option(False, "show Python tracebacks and TensorFlow's logs.")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        if not self.dataset:
            raise checks.invalid("dataset", "a dataset name or path", self.dataset)
        check_fields(self)
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

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-ready dict, including the task name."""
        return {"task": self.task, **dataclasses.asdict(self)}

    def to_argv(self) -> list[str]:
        """Returns the command-line options that rebuild this config from the defaults
        (`fields.to_argv`), never `--quiet` or `--debug`."""
        return to_argv(self, skip=("quiet", "debug"))

    def resume_command(self, run_id: str, tune_argv: list[str] | None = None) -> str:
        """Returns the `tfapps` command line that resumes run `run_id` with these options.

        Args:
            run_id: the interrupted run.
            tune_argv: for a run of `tfapps tune`, its search options (`TuneOptions.to_argv`).
                Defaults to a training command's run.
        """
        command = ["tfapps", self.task] if tune_argv is None else ["tfapps", "tune", self.task]
        return shlex.join([*command, *self.to_argv(), *(tune_argv or []), "--resume", run_id])
