"""The `tfapps` command line: parses options into a RunConfig and hands it to `tfapps.api`.

Only this module knows Click. TensorFlow is imported inside the commands that train, so `--help`
and `--version` answer instantly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import traceback
from collections.abc import Callable, Iterator

import click

from tfapps import __version__
from tfapps.config import (
    DEVICES,
    LOSSES,
    PRECISIONS,
    ImageConfig,
    RegressConfig,
    RunConfig,
    TextConfig,
)
from tfapps.data import registry
from tfapps.errors import RunFailed, TfappsError

CONTEXT_SETTINGS = {
    "help_option_names": ["-h", "--help"],
    "show_default": True,
    "max_content_width": 100,
}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="tfapps")
def main() -> None:
    """Train the classic Keras architectures on real data and get back a deployable
    TensorFlow SavedModel plus a report you can read.

    Every training command writes a run directory under --output-dir:
    saved_model/, model.keras, run.json, history.csv, metrics.csv, report tables and plots.
    """
    warnings = logging.getLogger("tfapps")
    if not any(isinstance(h, WarningsToStderr) for h in warnings.handlers):
        warnings.addHandler(WarningsToStderr())


class WarningsToStderr(logging.Handler):
    """Prints tfapps' log warnings as `Warning: ...` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {record.getMessage()}", err=True)


@contextlib.contextmanager
def reporting_errors(debug: bool) -> Iterator[None]:
    """Turns failures into one line on stderr; with `debug`, prints the traceback first.

    User mistakes (`TfappsError`) keep their exit status (2 for bad input); anything unexpected
    becomes a `RunFailed` (exit status 1).
    """
    try:
        yield
    except TfappsError:
        if debug:
            traceback.print_exc()
        raise
    except Exception as error:
        if debug:
            raise
        lines = str(error).strip().splitlines()
        message = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
        raise RunFailed(f"{message} (rerun with --debug for the traceback)") from None


def default_of(config_class: type[RunConfig], name: str):
    """Returns the default of one config field, so `--help` and the Python API agree."""
    return next(f.default for f in dataclasses.fields(config_class) if f.name == name)


def _parse_ints(separator: str, example: str) -> Callable:
    def parse(ctx, param, value):
        if value is None or isinstance(value, tuple):
            return value
        try:
            return tuple(int(part) for part in value.lower().split(separator))
        except ValueError:
            raise click.BadParameter(
                f"expected integers separated by {separator!r}, such as "
                f"{example}. Received: {value!r}"
            ) from None

    return parse


def training_options(config_class: type[RunConfig]) -> Callable:
    """Adds the options every training command shares; defaults come from `config_class`."""
    defaults = {f.name: default_of(config_class, f.name) for f in dataclasses.fields(config_class)}
    task = config_class.task
    options = [
        click.option(
            "--dataset",
            default=defaults["dataset"],
            help=f"What to train on: {registry.accepted_summary(task)}. "
            "`tfapps datasets` lists them.",
        ),
        click.option(
            "--epochs",
            type=int,
            default=defaults["epochs"],
            help="Maximum number of epochs (early stopping may end sooner).",
        ),
        click.option(
            "--batch-size",
            type=int,
            default=defaults["batch_size"],
            help="Examples per training step (per replica).",
        ),
        click.option(
            "--learning-rate",
            type=float,
            default=defaults["learning_rate"],
            help="Adam learning rate.",
        ),
        click.option(
            "--validation-split",
            type=float,
            default=defaults["validation_split"],
            help="Fraction of train held out for validation when the dataset has no "
            "validation split, in (0, 1).",
        ),
        click.option(
            "--patience",
            type=int,
            default=defaults["patience"],
            help="Epochs without val_loss improvement before early stopping (the best "
            "weights are restored).",
        ),
        click.option(
            "--seed",
            type=int,
            default=defaults["seed"],
            help="Seed for Python, NumPy and TensorFlow: same seed, same machine, same metrics.",
        ),
        click.option(
            "--output-dir",
            default=defaults["output_dir"],
            help="Where run directories and summary.csv are written.",
        ),
        click.option(
            "--data-dir",
            default=defaults["data_dir"],
            help="TFDS data directory. Default: TFDS's own (~/tensorflow_datasets).",
        ),
        click.option(
            "--max-examples",
            type=int,
            default=defaults["max_examples"],
            help="Use at most this many training examples (validation and test shrink "
            "in proportion) for quick runs. Default: all.",
        ),
        click.option(
            "--precision",
            type=click.Choice(PRECISIONS),
            default=defaults["precision"],
            help="Keras dtype policy; auto = mixed_float16 on GPUs that support it, "
            "float32 otherwise.",
        ),
        click.option(
            "--device",
            type=click.Choice(DEVICES),
            default=defaults["device"],
            help="auto = all GPUs when present (MirroredStrategy over several), else the CPU.",
        ),
        click.option(
            "--quiet",
            is_flag=True,
            default=defaults["quiet"],
            help="No progress bars; print only the result.",
        ),
        click.option(
            "--debug",
            is_flag=True,
            default=defaults["debug"],
            help="Show Python tracebacks and TensorFlow's logs.",
        ),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def run_training(config_class: type[RunConfig], options: dict) -> None:
    """Builds the config from parsed options, trains, and prints where the run went."""
    with reporting_errors(options.get("debug", False)):
        config = config_class(**options)
        from tfapps.api import train

        result = train(config)
    headline = result.headline
    click.echo(f"Run complete: {result.run_dir}")
    click.echo(f"  {headline['split']} {headline['metric']}: {headline['value']:.4f}")


@main.command("image-classify")
@training_options(ImageConfig)
@click.option(
    "--filters",
    default=",".join(map(str, default_of(ImageConfig, "filters"))),
    callback=_parse_ints(",", "32,64"),
    help="Conv2D filters per block, comma-separated; one Conv2D → MaxPooling2D block per number.",
)
@click.option(
    "--dropout",
    type=float,
    default=default_of(ImageConfig, "dropout"),
    help="Dropout rate before the softmax layer.",
)
@click.option(
    "--image-size",
    default=None,
    callback=_parse_ints("x", "28x28"),
    help="HEIGHTxWIDTH every image is resized to. Default: the dataset's own size "
    "(for a folder, its most common size).",
)
def image_classify(**options) -> None:
    """Train a convnet image classifier: Rescaling → [Conv2D → MaxPooling2D]×k → Flatten →
    Dropout → Dense(softmax).

    The exported SavedModel takes uint8 images [batch, height, width, channels] and returns
    class probabilities.

    \b
    Examples:
      tfapps image-classify                      # embedded digits (1,797 8x8 images)
      tfapps image-classify --dataset mnist      # TFDS catalog, downloaded on first use
      tfapps image-classify --dataset ./photos   # photos/<class>/*.jpg
    """
    run_training(ImageConfig, options)


@main.command("sentiment")
@training_options(TextConfig)
@click.option(
    "--max-tokens",
    type=int,
    default=default_of(TextConfig, "max_tokens"),
    help="Vocabulary size of the TextVectorization layer (adapted on the training split only).",
)
@click.option(
    "--sequence-length",
    type=int,
    default=default_of(TextConfig, "sequence_length"),
    help="Tokens kept per text; longer texts are cut, shorter ones padded.",
)
@click.option(
    "--embedding-dim",
    type=int,
    default=default_of(TextConfig, "embedding_dim"),
    help="Width of the Embedding layer.",
)
@click.option(
    "--dropout",
    type=float,
    default=default_of(TextConfig, "dropout"),
    help="Dropout rate after the embedding and before the classifier.",
)
@click.option(
    "--text-column",
    default=default_of(TextConfig, "text_column"),
    help="CSV column holding the text (CSV datasets only).",
)
@click.option(
    "--label-column",
    default=default_of(TextConfig, "label_column"),
    help="CSV column holding the label, strings or integers (CSV datasets only).",
)
def sentiment(**options) -> None:
    """Train a Conv1D text classifier: TextVectorization → Embedding → Conv1D ×2 →
    GlobalMaxPooling1D → Dense → Dense(sigmoid, or softmax for more than 2 labels).

    The exported SavedModel takes raw strings [batch] and returns probabilities; the vocabulary
    is inside it and also written as vocabulary.txt.

    \b
    Examples:
      tfapps sentiment                                  # embedded IMDB reviews (25,000)
      tfapps sentiment --dataset rotten_tomatoes        # embedded, 8,530 sentences
      tfapps sentiment --dataset imdb_reviews           # TFDS catalog, downloaded on first use
      tfapps sentiment --dataset reviews.csv --text-column review --label-column stars
    """
    run_training(TextConfig, options)


def _split_names(ctx, param, values):
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


@main.command("regress")
@training_options(RegressConfig)
@click.option(
    "--target",
    default=None,
    help="Column to predict. Required for a CSV. Default: the dataset's own target "
    "(auto_mpg: Miles_per_Gallon, diabetes: progression).",
)
@click.option(
    "--categorical",
    multiple=True,
    callback=_split_names,
    help="Column to one-hot encode although it holds numbers (repeat, or separate with "
    "commas). String columns are categorical anyway. Default: none.",
)
@click.option(
    "--drop",
    multiple=True,
    callback=_split_names,
    help="Column to ignore, such as an ID (repeat, or separate with commas). Default: none.",
)
@click.option(
    "--hidden-units",
    default=",".join(map(str, default_of(RegressConfig, "hidden_units"))),
    callback=_parse_ints(",", "64,64"),
    help="Units of each hidden Dense(relu) layer, comma-separated.",
)
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    default=default_of(RegressConfig, "loss"),
    help="Training loss: mean absolute error, mean squared error or Huber.",
)
def regress(**options) -> None:
    """Train a Dense regressor on a table: one named input per column → Normalization (numbers)
    or StringLookup one-hot (categories) → Dense(relu) ×n → Dense(1).

    The exported SavedModel takes a dict of named raw columns (float32 numbers, strings for
    categorical columns) and returns the prediction.

    \b
    Examples:
      tfapps regress                                   # embedded Auto MPG (406 cars)
      tfapps regress --dataset diabetes                # embedded, 442 patients
      tfapps regress --dataset wine_quality            # TFDS catalog (target: quality)
      tfapps regress --dataset houses.csv --target price --drop id --categorical zipcode
    """
    run_training(RegressConfig, options)


@main.command("datasets")
@click.option(
    "--task",
    type=click.Choice(sorted(registry.LOCAL_FORMATS)),
    default=None,
    help="Only this task's datasets. Default: every task.",
)
def datasets(task: str | None) -> None:
    """List what each task's --dataset accepts: embedded datasets, TFDS catalog names that fit,
    and local formats."""
    for name in [task] if task else sorted(registry.LOCAL_FORMATS):
        click.echo(f"{name}")
        click.echo("  embedded (offline, prepared through TFDS on first use):")
        for dataset in registry.embedded_for(name).values():
            click.echo(
                f"    {dataset.name:<16} {dataset.examples:>6} examples  "
                f"{dataset.description}; from {dataset.origin}"
            )
        click.echo("  TFDS catalog (downloaded on first use into --data-dir):")
        click.echo(f"    {', '.join(registry.CATALOG.get(name, ()))}")
        click.echo(f"  local: {registry.LOCAL_FORMATS[name]}")


@main.command("train-all")
@click.option("--output-dir", default="saved_models", help="Where run directories go.")
@click.option("--data-dir", default=None, help="TFDS data directory. Default: TFDS's own.")
@click.option("--seed", type=int, default=42, help="Seed of every run.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def train_all(**options) -> None:
    """Train every task on its default embedded dataset, one after another, and print a summary.

    A task that fails is reported and the others still run; the exit status is then 1.
    """
    rows, failed = [], []
    for config_class in TRAIN_ALL:
        click.echo(f"== {config_class.task} ==")
        try:
            with reporting_errors(options["debug"]):
                from tfapps.api import train

                result = train(config_class(**options))
        except TfappsError as error:
            failed.append(config_class.task)
            rows.append((config_class.task, "FAILED", error.format_message()))
            continue
        headline = result.headline
        rows.append(
            (
                config_class.task,
                f"{headline['metric']}={headline['value']:.4f}",
                str(result.run_dir),
            )
        )
    click.echo("\nSummary:")
    for task, outcome, where in rows:
        click.echo(f"  {task:<16} {outcome:<18} {where}")
    if failed:
        click.echo(f"Failed: {', '.join(failed)}", err=True)
        sys.exit(1)


TRAIN_ALL: tuple[type[RunConfig], ...] = (ImageConfig, TextConfig, RegressConfig)
