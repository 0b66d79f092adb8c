"""The commands that use finished runs and datasets: predict, evaluate, runs, report, datasets."""

from __future__ import annotations

from pathlib import Path

import click

from tfapps import run_dirs, runtime
from tfapps.cli import main
from tfapps.cli.options import reporting_errors
from tfapps.errors import InvalidInput
from tfapps.serving_bodies import (
    BATCH_WAIT_SECONDS,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_INSTANCES,
    ServingOptions,
)
from tfapps.tasks import TASKS

REPORT_FORMATS = ("html", "markdown", "csv")


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
@click.option(
    "--text-per",
    type=click.Choice(("file", "line")),
    default=None,
    help="Sentiment models: a .txt file holds one text (file) or one text per line (line). "
    "Default: as the model was trained (file for a folder of text files, else line).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def predict(
    run_dir: Path,
    inputs: tuple[str, ...],
    output: Path | None,
    batch_size: int,
    text_per: str | None,
    debug: bool,
) -> None:
    """Predict with a finished run's SavedModel on raw INPUTS.

    RUN_DIR is a run directory (saved_models/<task>/<dataset>/<run-id>) or its saved_model/
    folder. INPUTS depend on the run's task: image files or folders (image-classify; read as in
    training: any format, fitted to the model's size and channels), texts, .txt or .csv files
    or folders of text files (sentiment; read as the model was trained), CSV files with the
    model's columns by name (regress, table-classify).

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
        run = prediction.load_run(run_dir)
        table = prediction.predict(run, list(inputs), batch_size, text_per)
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
    type=click.Choice(list(TASKS)),
    default=None,
    help="Only this task's datasets. Default: every task.",
)
def datasets(task: str | None) -> None:
    """List what each task's --dataset accepts: embedded datasets, TFDS catalog names that fit,
    and local formats."""
    for shown in [TASKS[task]] if task else TASKS.values():
        click.echo(f"{shown.name}")
        click.echo("  embedded (offline, prepared through TFDS on first use):")
        for dataset in shown.embedded:
            click.echo(
                f"    {dataset.name:<16} {dataset.examples:>6} examples  "
                f"{dataset.description}; from {dataset.origin}"
            )
        click.echo("  TFDS catalog (downloaded on first use into --data-dir):")
        click.echo(f"    {', '.join(shown.catalog)}")
        click.echo(f"  local: {shown.local_formats}")


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
    from tfapps.run_dirs import describe_runs

    with reporting_errors(False):
        lines = describe_runs(directory, incomplete)
    for line in lines:
        click.echo(line)
    if not lines:
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
    write the report page: a comparison table per task and dataset, then every run's metrics
    and plots."""
    from tfapps.report_page import write_report

    with reporting_errors(False):
        if not directory.is_dir():
            raise InvalidInput(f"Report directory does not exist: {directory}")
        target = write_report(run_dirs.ensure_writable(directory), fmt)
    click.echo(f"Wrote {target}")


@main.command("serve")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--name",
    "names",
    multiple=True,
    help="The model's name in the URLs, one per run in their order (repeat the option). "
    f"Default: the task ({', '.join(TASKS)}), with the dataset when two runs share a task.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    help="Address to bind; 0.0.0.0 exposes the server to the network.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8501, help="Port (TF Serving's).")
@click.option(
    "--max-batch-size",
    type=click.IntRange(min=1),
    default=MAX_BATCH,
    help="Examples per model call at most; requests arriving while the model is busy share a call.",
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(min=0),
    default=BATCH_WAIT_SECONDS * 1000,
    help="How long a model call waits for requests still being read; a lone request never waits.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=MAX_BODY_BYTES,
    help="Bytes a request body may hold (33554432 is 32 MiB); a larger one is answered 413 "
    "as soon as it passes.",
)
@click.option(
    "--max-instances",
    type=click.IntRange(min=1),
    default=MAX_INSTANCES,
    help="Examples a request may hold; more are answered 413. A request larger than "
    "--max-batch-size runs as several model calls.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def serve(
    run_dirs: tuple[Path, ...],
    names: tuple[str, ...],
    host: str,
    port: int,
    max_batch_size: int,
    batch_wait_ms: float,
    max_body_bytes: int,
    max_instances: int,
    debug: bool,
) -> None:
    """Serve finished runs with TensorFlow Serving's REST API until Ctrl-C.

    RUN_DIRS are run directories (or their saved_model/ folders). Each is served at
    /v1/models/NAME (status), /v1/models/NAME/metadata and POST /v1/models/NAME:predict with
    {"instances": [...]} or {"inputs": ...}, as tensorflow_model_server answers them. Image
    models also take {"b64": <an image file>}, table models their columns by name.

    \b
    Example:
      tfapps serve saved_models/sentiment/movie_reviews/<run-id>
      curl -d '{"instances": ["A wonderful film."]}' \\
          localhost:8501/v1/models/sentiment:predict
    """
    with reporting_errors(debug):
        runtime.import_tensorflow(debug)
        from tfapps import serve as serving

        models = serving.load_models(list(run_dirs), list(names))
    for model in models:
        click.echo(f"Serving {model.name} ({model.record.directory})")
        click.echo(f"  http://{host}:{port}/v1/models/{model.name}:predict")
    click.echo("Press Ctrl-C to stop.")
    options = ServingOptions(max_batch_size, batch_wait_ms / 1000, max_body_bytes, max_instances)
    serving.serve(models, host, port, options)


@main.command("export")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("onnx", "litert", "saved_model")),
    required=True,
    help="onnx (onnxruntime), litert (the LiteRT interpreter, formerly TFLite) or saved_model.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder to write into. Default: the run directory.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def export(run_dir: Path, fmt: str, output: Path | None, debug: bool) -> None:
    """Export a finished run's model as ONNX, LiteRT or a SavedModel, check it, record it.

    RUN_DIR is a run directory (or its saved_model/ folder). The file is written by Keras'
    exporter, then run with its own runtime on the run's test
    examples and compared with the run's SavedModel; the agreement is printed and recorded
    in run.json. Text models export their token-id part (with vocabulary.txt and
    preprocessing.txt) to ONNX and LiteRT, which cannot hold TensorFlow's string ops; table
    models with categorical columns export their one-hot part to ONNX. The runtimes are an
    extra: pip install 'tfapps[export]'.

    \b
    Example:
      tfapps export saved_models/image-classify/digits/<run-id> --format onnx
    """
    with reporting_errors(debug):
        runtime.import_tensorflow(debug)
        from tfapps.export_formats import export as export_model

        exported = export_model(run_dir, fmt, output)
    click.echo(f"Wrote {', '.join(str(path) for path in exported.files)}")
    click.echo(f"  takes {exported.takes}")
    agreement = f"largest output difference {exported.max_difference:.2g}"
    if exported.same_classes is not None:
        agreement = f"same class on {exported.same_classes:.0%}, {agreement}"
    click.echo(f"  checked on {exported.examples}: {agreement}")
