"""The `tfapps` command line: parses options into a RunConfig and hands it to `tfapps.api`.

Only this module knows Click. TensorFlow is imported inside the commands that train, so `--help`
and `--version` answer instantly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shlex
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from tfapps import __version__, runs, runtime
from tfapps.config import (
    ARCHITECTURES,
    DEVICES,
    LOSSES,
    PRECISIONS,
    STRATEGIES,
    ImageConfig,
    RegressConfig,
    RunConfig,
    TextConfig,
)
from tfapps.data import registry
from tfapps.errors import InvalidInput, Resumable, RunFailed, TerminationRequest, TfappsError

REPORT_FORMATS = ("html", "markdown", "csv")
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
    # absl gives the root logger a handler of its own once TensorFlow logs; printed here, a
    # warning must not print there again.
    warnings.propagate = False


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
    except OSError as error:
        if debug:
            raise
        where = f" at {error.filename}" if error.filename else ""
        reason = " ".join(str(error.strerror or error).split())  # h5py's spans several lines
        raise RunFailed(
            f"File system error{where}: {reason}. Finished runs are untouched; an unfinished "
            "one stays in its .incomplete directory."
        ) from None
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
            "--start-from-epoch",
            type=int,
            default=defaults["start_from_epoch"],
            help="How many epochs at the start early stopping ignores: it neither stops "
            "training in them nor keeps their weights as the best (at --epochs or more, "
            "training runs every epoch and keeps the last weights).",
        ),
        click.option(
            "--steps-per-execution",
            type=int,
            default=defaults["steps_per_execution"],
            help="Training steps per call into TensorFlow; more steps cut per-step Python "
            "overhead (Ctrl-C then takes effect after the current group of steps). Runs with "
            "several replicas use 1.",
        ),
        click.option(
            "--checkpoint-seconds",
            type=float,
            default=defaults["checkpoint_seconds"],
            help="Write the resumable checkpoint at an epoch end once this many seconds have "
            "passed since the last one (0: every epoch). Saving every short epoch would cost "
            "more than the epoch; a crash loses at most this much training.",
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
            "--strategy",
            type=click.Choice(STRATEGIES),
            default=defaults["strategy"],
            help="tf.distribute strategy. auto: MirroredStrategy over several GPUs, else none; "
            "mirrored: all local GPUs (or --cpu-replicas logical CPUs); multi-worker: "
            "MultiWorkerMirroredStrategy from the TF_CONFIG environment variable (only the "
            "chief writes the run directory).",
        ),
        click.option(
            "--cpu-replicas",
            type=int,
            default=defaults["cpu_replicas"],
            help="Logical CPU devices for --strategy mirrored on a machine without GPUs.",
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
        click.option(
            "--resume",
            default=None,
            metavar="latest|RUN_ID",
            help="Continue an interrupted run of this task and dataset from its last finished "
            "epoch, with the same options (multi-worker: on every worker). `tfapps runs "
            "--incomplete` lists them. Default: a new run.",
        ),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def run_training(config_class: type[RunConfig], options: dict) -> None:
    """Builds the config from parsed options, trains, and prints where the run went.

    Ctrl-C and SIGTERM (exit status 130 or 143), or a lost worker of a multi-worker run (1),
    stop training, keep the run's checkpoint, and print the command that resumes it.
    """
    resume = options.pop("resume")
    with reporting_errors(options.get("debug", False)), stop_on_sigterm():
        config = config_class(**options)
        from tfapps.api import train

        try:
            result = train(config, resume=resume)
        except Resumable as stopped:
            command = resume_command(config, stopped.run_id)
            stopped.message += f" Resume with: {command}"
            raise
    if result.run_dir is None:
        click.echo("Worker finished; the chief wrote the run directory.")
        return
    headline = result.headline
    click.echo(f"Run complete: {result.run_dir}")
    click.echo(f"  {headline['split']} {headline['metric']}: {headline['value']:.4f}")


def resume_command(config: RunConfig, run_id: str) -> str:
    """The `tfapps` command line that resumes `run_id` with `config`.

    Only options that differ from their defaults are written; booleans as `--x` or `--no-x`.
    """
    args = ["tfapps", config.task]
    for field in dataclasses.fields(config):
        value = _as_saved(getattr(config, field.name))
        if field.name in ("quiet", "debug") or value == _as_saved(field.default):
            continue
        option = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            args.append(option if value else "--no-" + option[2:])
        elif isinstance(value, list):
            args += [option, ("x" if field.name == "image_size" else ",").join(map(str, value))]
        else:
            args += [option, str(value)]
    return shlex.join([*args, "--resume", run_id])


def _as_saved(value):
    """A value as run.json stores it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turns SIGTERM into a `TerminationRequest` (a KeyboardInterrupt) inside the block."""

    def handler(signum, frame):
        raise TerminationRequest()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
@click.option(
    "--architecture",
    type=click.Choice(ARCHITECTURES),
    default=default_of(ImageConfig, "architecture"),
    help="conv: the convnet; dense: Rescaling → Flatten → Dense(128) → Dense(softmax), to compare.",
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
@click.option(
    "--architecture",
    type=click.Choice(ARCHITECTURES),
    default=default_of(TextConfig, "architecture"),
    help="conv: the Conv1D model; dense: Embedding → GlobalAveragePooling1D → Dense, to compare.",
)
@click.option(
    "--length-batches/--no-length-batches",
    default=default_of(TextConfig, "length_batches"),
    help="Train the conv model on batches of texts of similar length, each cut to the padding "
    "it needs (the trained model's outputs on a cut batch are those at --sequence-length; "
    "IMDB trains about 1.4x faster). --no-length-batches pads every batch to "
    "--sequence-length, as --architecture dense and --strategy multi-worker always do.",
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


@main.command("predict")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the predictions to this .csv or .json file. Default: print them only.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=256, help="Inputs per model call."
)
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def predict(
    run_dir: Path, inputs: tuple[str, ...], output: Path | None, batch_size: int, debug: bool
) -> None:
    """Predict with a finished run's SavedModel on raw INPUTS.

    RUN_DIR is a run directory (saved_models/<task>/<dataset>/<run-id>) or its saved_model/
    folder. INPUTS depend on the run's task: image files or folders (image-classify; converted
    to the model's size and channels), texts or .txt files with one text per line (sentiment),
    CSV files with the model's columns by name (regress).

    \b
    Examples:
      tfapps predict saved_models/image-classify/digits/<run-id> digit.png more_digits/
      tfapps predict saved_models/sentiment/movie_reviews/<run-id> "A wonderful film." reviews.txt
      tfapps predict saved_models/regress/auto_mpg/<run-id> cars.csv --output predictions.csv
    """
    with reporting_errors(debug):
        from tfapps import predict as prediction

        if output is not None:
            prediction.check_output_path(output)
        runtime.import_tensorflow(debug)
        table = prediction.predict(prediction.load_run(run_dir), list(inputs), batch_size)
        if output is not None:
            prediction.write_predictions(table, output)
    click.echo(table.to_string(index=False))


@main.command("evaluate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    required=True,
    help="Dataset to score on: any --dataset value of the run's task (same classes, image "
    "channels or columns as the model).",
)
@click.option(
    "--split",
    type=click.Choice(("train", "validation", "test")),
    default="test",
    help="Split of that dataset to score.",
)
@click.option("--data-dir", default=None, help="TFDS data directory. Default: TFDS's own.")
@click.option(
    "--max-examples",
    type=click.IntRange(min=1),
    default=None,
    help="Cap on examples, as in training. Default: all.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def evaluate(
    run_dir: Path,
    dataset: str,
    split: str,
    data_dir: str | None,
    max_examples: int | None,
    debug: bool,
) -> None:
    """Score a finished run's model on another split or dataset of the same kind.

    Writes metrics.csv and the same report tables and plots as training under
    RUN_DIR/evaluations/<dataset>-<split>/<id>/; the training results are left untouched.

    \b
    Example:
      tfapps evaluate saved_models/sentiment/movie_reviews/<run-id> --dataset rotten_tomatoes
    """
    with reporting_errors(debug):
        runtime.import_tensorflow(debug)
        from tfapps.evaluate import evaluate as run_evaluation

        evaluation = run_evaluation(run_dir, dataset, split, data_dir, max_examples)
    click.echo(evaluation.metrics.to_string(index=False))
    click.echo(f"Wrote {evaluation.directory}")


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
@click.option(
    "--quick", is_flag=True, help="Smoke run of a few minutes: fewer epochs and examples."
)
@click.option(
    "--datasets",
    default=None,
    help="Replace default datasets, e.g. image=mnist,sentiment=imdb_reviews,regress=diabetes. "
    "Default: digits, movie_reviews, auto_mpg.",
)
@click.option(
    "--compare-architectures",
    is_flag=True,
    help="Also train the dense variants of image-classify and sentiment on the same splits; "
    "the report then compares them side by side.",
)
@click.option("--output-dir", default="saved_models", help="Where run directories go.")
@click.option("--data-dir", default=None, help="TFDS data directory. Default: TFDS's own.")
@click.option("--seed", type=int, default=default_of(RunConfig, "seed"), help="Seed of every run.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def train_all(quick: bool, datasets: str | None, compare_architectures: bool, **common) -> None:
    """Train every task (image-classify on digits, sentiment on the IMDB reviews, regress on
    Auto MPG) one after another, print a summary, and write summary.csv and report.html.

    A task that fails is listed with its error and the others still run; the exit status is
    then 1.
    """
    from tfapps import suite

    with reporting_errors(common["debug"]):
        configs = suite.plan(common, quick, datasets, compare_architectures)
        output_dir = runs.ensure_writable(common["output_dir"])
    rows, failed = [], 0
    for config in configs:
        architecture = getattr(config, "architecture", "dense")
        click.echo(f"== {config.task} on {config.dataset} ({architecture})")
        try:
            with reporting_errors(config.debug):
                from tfapps.api import train

                result = train(config)
        except TfappsError as error:
            failed += 1
            rows.append((config, "FAILED", "-", error.format_message()))
            click.echo(f"Error: {error.format_message()}", err=True)
            continue
        headline = result.headline
        rows.append(
            (
                config,
                f"{headline['metric']}={headline['value']:.4f}",
                f"{result.seconds:.0f}s",
                str(result.run_dir),
            )
        )
    from tfapps.overview import write_report

    report = write_report(output_dir)
    click.echo("\nSummary:")
    for config, outcome, seconds, where in rows:
        architecture = getattr(config, "architecture", "dense")
        click.echo(
            f"  {config.task:<15} {config.dataset:<15} {architecture:<6} {outcome:<18} "
            f"{seconds:>6}  {where}"
        )
    click.echo(f"Report: {report}")
    if failed:
        click.echo(f"{failed} of {len(rows)} runs failed.", err=True)
        sys.exit(1)


@main.command("runs")
@click.argument("directory", type=click.Path(path_type=Path), default="saved_models")
@click.option(
    "--incomplete",
    is_flag=True,
    help="List interrupted or failed runs (<run-id>.incomplete) with the command that resumes "
    "each, instead of finished runs.",
)
def list_runs(directory: Path, incomplete: bool) -> None:
    """List the runs under DIRECTORY (default saved_models): finished ones, or with
    --incomplete the interrupted ones to resume or delete."""
    with reporting_errors(False):
        if not directory.is_dir():
            raise InvalidInput(f"Runs directory does not exist: {directory}")
        found = runs.incomplete_runs(directory) if incomplete else runs.finished_runs(directory)
        for run_dir in found:
            record = runs.read_run(run_dir) if (run_dir / runs.RUN_JSON).is_file() else {}
            status = record.get("status", "unknown")
            if incomplete and runs.is_running(run_dir):
                status = "running now"
            line = f"{run_dir}  {status}"
            if incomplete and "config" in record:
                run_id = run_dir.name.removesuffix(runs.INCOMPLETE_SUFFIX)
                try:
                    command = resume_command(RunConfig.from_dict(record["config"]), run_id)
                except InvalidInput as error:
                    command = f"cannot be resumed ({error.format_message()})"
                line += f"  epochs done: {runs.finished_epochs(run_dir)}  resume: {command}"
            click.echo(line)
    if not found:
        click.echo("No incomplete runs." if incomplete else "No finished runs.")


@main.command("report")
@click.argument("directory", type=click.Path(path_type=Path), default="saved_models")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="html",
    help="html: a self-contained report.html (images embedded); markdown: report.md (images "
    "linked); csv: summary.csv only.",
)
def report(directory: Path, fmt: str) -> None:
    """Rebuild summary.csv from the run directories under DIRECTORY (default saved_models) and
    write an overview: a comparison table per task and dataset, then every run's metrics and
    plots."""
    from tfapps.overview import write_report

    with reporting_errors(False):
        if not directory.is_dir():
            raise InvalidInput(f"Report directory does not exist: {directory}")
        runs_dir = runs.ensure_writable(directory)
        target = write_report(runs_dir, fmt)
    click.echo(f"Wrote {target}")
