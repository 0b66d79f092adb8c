"""The commands that train: one per task (`tfapps.tasks.TASKS`), and train-all."""

from __future__ import annotations

import sys

import click

from tfapps import run_dirs
from tfapps.cli import main
from tfapps.cli.options import reporting_errors, route_logs, training_options
from tfapps.config import RunConfig
from tfapps.tasks import TASKS, Task


def run_training(config_class: type[RunConfig], options: dict) -> None:
    """Builds the config from parsed options, trains, and prints where the run went.

    Ctrl-C and SIGTERM (exit status 130 or 143), or a lost worker of a multi-worker run (1),
    stop training, keep the run's checkpoint, and print the command that resumes it.
    """
    resume = options.pop("resume")
    route_logs(quiet=options.get("quiet", False))
    with reporting_errors(options.get("debug", False)):
        config = config_class(**options)
        from tfapps.api import train

        result = train(config, resume=resume)
    if result.run_dir is None:
        click.echo("Worker finished; the chief wrote the run directory.")
        return
    click.echo(f"Run complete: {result.run_dir}")
    click.echo(f"  {headline_line(result)}")


def headline_line(result) -> str:
    """`test accuracy: 0.9916 (balanced accuracy 0.9914)`: the headline metric, and for
    classifiers the balanced accuracy, which an imbalanced test split cannot flatter."""
    headline, metrics = result.headline, result.metrics
    line = f"{headline['split']} {headline['metric']}: {headline['value']:.4f}"
    balanced = metrics[
        (metrics["split"] == headline["split"]) & (metrics["metric"] == "balanced_accuracy")
    ]
    if not balanced.empty:
        line += f" (balanced accuracy {balanced['value'].iloc[0]:.4f})"
    return line


def _training_command(task: Task) -> click.Command:
    """The command that trains `task`: one option per field of its config class."""

    def command(**options) -> None:
        run_training(task.config_class, options)

    command.__doc__ = task.description
    return main.command(task.name)(training_options(task.config_class)(command))


for _task in TASKS.values():
    _training_command(_task)


@main.command("train-all")
@click.option(
    "--quick", is_flag=True, help="Smoke run of a few minutes: fewer epochs and examples."
)
@click.option(
    "--datasets",
    default=None,
    help="Replace default datasets, TASK=DATASET pairs, e.g. "
    "image-classify=mnist,sentiment=imdb_reviews,regress=diabetes. "
    f"Default: {', '.join(task.config_class.dataset for task in TASKS.values())}.",
)
@click.option(
    "--compare-architectures",
    is_flag=True,
    help="Also train each task's other architectures on the same splits (the dense models of "
    "image-classify and sentiment, sentiment's n-gram model); the report then compares them "
    "side by side.",
)
@click.option("--output-dir", default="saved_models", help="Where run directories go.")
@click.option("--data-dir", default=None, help="TFDS data directory. Default: TFDS's own.")
@click.option("--seed", type=int, default=RunConfig.seed, help="Seed of every run.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's logs.")
def train_all(quick: bool, datasets: str | None, compare_architectures: bool, **common) -> None:
    """Train every task on its default dataset (image-classify on digits, sentiment on the IMDB
    reviews, regress on Auto MPG, ...) one after another, print a summary, and write
    summary.csv and report.html.

    A task that fails is listed with its error and the others still run; the exit status is
    then 1.
    """
    from tfapps import suite

    route_logs(quiet=common["quiet"])
    with reporting_errors(common["debug"]):
        configs = suite.plan(common, quick, datasets, compare_architectures)
        output_dir = run_dirs.ensure_writable(common["output_dir"])
    rows = suite.train_each(configs, click.echo, lambda line: click.echo(line, err=True))
    from tfapps.report_page import write_report

    report = write_report(output_dir)
    click.echo("\nSummary:")
    for row in rows:
        click.echo(row.line())
    click.echo(f"Report: {report}")
    failed = sum(row.failed for row in rows)
    if failed:
        click.echo(f"{failed} of {len(rows)} runs failed.", err=True)
        sys.exit(1)
