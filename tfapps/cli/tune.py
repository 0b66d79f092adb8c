"""`tfapps tune TASK`: one command per task (`tfapps.tasks.TASKS`) taking the task's options
and the search's (`tune.options.TuneOptions`), and the hidden `tfapps tune-trial` that runs
one trial of a search in its own process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from tfapps.cli import main
from tfapps.cli.options import reporting_errors, route_logs, training_options
from tfapps.cli.training import headline_line
from tfapps.tasks import TASKS, Task
from tfapps.tune.options import TuneOptions


@main.group("tune")
def tune_group() -> None:
    """Search a task's settings with KerasTuner, then train the best on train + validation.

    \b
    Examples:
      tfapps tune image-classify --time-budget 10m
      tfapps tune sentiment --dataset rotten_tomatoes --tuner random --max-trials 12
      tfapps tune regress --space layers=1..3 --space loss=mae --folds 5
      tfapps tune regress --resume latest          # continue a search that was stopped

    The first trial is the options given (or tfapps' defaults), so the search never picks
    worse than them on validation; the test split is read once, by the final model. The run
    directory has the final model, its reports, trials.csv and plots/search.png.
    """


def _tune_command(task: Task) -> click.Command:
    """`tfapps tune TASK`: the task's options, the search's, and `--resume`."""
    tune_names = {field_.name for field_ in dataclasses.fields(TuneOptions)}

    def command(**options) -> None:
        resume = options.pop("resume")
        route_logs(quiet=options.get("quiet", False))
        with reporting_errors(options.get("debug", False)):
            search = TuneOptions(**{name: options.pop(name) for name in tune_names})
            config = task.config_class(**options)
            from tfapps.tune.run import tune

            result = tune(config, search, resume=resume)
        click.echo(f"Run complete: {result.run_dir}")
        click.echo(f"  {headline_line(result)}")

    summary = task.description.split("\n", 1)[0].rstrip(".")
    command.__doc__ = (
        f"Search the settings of: {summary[0].lower()}{summary[1:]}.\n\n"
        "The task's options set where the search starts; --space fixes or narrows its "
        "knobs (an unknown name is refused with the task's knobs listed)."
    )
    return tune_group.command(task.name)(training_options(task.config_class, TuneOptions)(command))


for _task in TASKS.values():
    _tune_command(_task)


@main.command("tune-trial", hidden=True)
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def tune_trial(spec: Path) -> None:
    """Run the trial of a search that SPEC (its spec.json) describes, in this process
    (`tfapps tune` starts one such process per trial)."""
    import json
    import sys

    values = json.loads(spec.read_text())
    debug = values["config"]["debug"]
    route_logs(quiet=values["quiet"])
    with reporting_errors(debug):
        from tfapps import runtime

        runtime.import_tensorflow(debug)  # before the trial's modules import Keras
        from tfapps.tune.trial import run_trial

        if not run_trial(spec, debug):  # the search prints the trial's error
            sys.exit(1)
