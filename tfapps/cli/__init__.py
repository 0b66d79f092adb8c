"""The `tfapps` command line: parses options and hands them to the modules that do the work.

Only this package knows Click. TensorFlow is imported inside the commands that train or load
a model, so `--help` and `--version` answer instantly.

`training.py` holds the commands that train (one per task of `tfapps.tasks`, and train-all),
`tune.py` the searches (`tfapps tune TASK`), `tools.py` the commands that use finished runs
(predict, evaluate, runs, report, datasets), and `options.py` what they share.
"""

from __future__ import annotations

import click

from tfapps import __version__
from tfapps.cli.options import CONTEXT_SETTINGS, route_logs


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="tfapps")
def main() -> None:
    """Train the classic Keras architectures on real data and get back a deployable
    TensorFlow SavedModel plus a report you can read.

    Every training command writes a run directory under --output-dir:
    saved_model/, model.keras, run.json, history.csv, metrics.csv, report tables and plots.
    """
    route_logs()


from tfapps.cli import tools, training, tune  # noqa: E402  (the commands register on `main`)

__all__ = ["main", "tools", "training", "tune"]
