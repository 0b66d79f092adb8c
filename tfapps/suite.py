"""`tfapps train-all`: which configs to train (the plan), training them, and the summary.

No Click here, and no TensorFlow until a run starts, so the plan is cheap to build and test.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tfapps.config import RunConfig
from tfapps.errors import InvalidInput, explain
from tfapps.tasks import TASKS


def parse_datasets(value: str | None) -> dict[str, str]:
    """Parses `image-classify=mnist,regress=diabetes` into task name → dataset."""
    chosen: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (value or "").split(","))):
        key, _, dataset = part.partition("=")
        if key.strip() not in TASKS or not dataset.strip():
            raise InvalidInput(
                "Invalid value for --datasets: expected TASK=DATASET pairs separated by commas, "
                f"with TASK one of {', '.join(TASKS)}. Received: {part!r}"
            )
        chosen[key.strip()] = dataset.strip()
    return chosen


def plan(
    common: dict[str, Any],
    quick: bool = False,
    datasets: str | None = None,
    compare_architectures: bool = False,
) -> list[RunConfig]:
    """Returns the configs `train-all` runs, in order: every task (`tfapps.tasks.TASKS`) with
    the options it fixes for train-all (`Task.suite_options`).

    Args:
        common: options every run shares (output_dir, data_dir, seed, quiet, debug).
        quick: use each task's `quick` options. Defaults to False.
        datasets: `TASK=DATASET,...` replacing the embedded defaults. Defaults to none.
        compare_architectures: also train each task's `variants` (the dense models of
            image-classify and sentiment, sentiment's n-gram model), with the same seed and
            hence the same splits.
            Defaults to False.
    """
    chosen = parse_datasets(datasets)
    configs = []
    for task in TASKS.values():
        options = {**common, **task.suite_options, **(task.quick if quick else {})}
        if task.name in chosen:
            options["dataset"] = chosen[task.name]
        configs.append(task.config_class(**options))
        if compare_architectures:
            configs += [task.config_class(**{**options, **variant}) for variant in task.variants]
    return configs


@dataclass
class SuiteRow:
    """One line of train-all's summary.

    Args:
        config: the run's options.
        outcome: `metric=value`, or `FAILED`.
        seconds: the run's wall time, such as `"21s"`, or `"-"`.
        where: the run directory, or the error message.
    """

    config: RunConfig
    outcome: str
    seconds: str
    where: str

    @property
    def failed(self) -> bool:
        return self.outcome == "FAILED"

    def line(self) -> str:
        """The row as printed under `Summary:`."""
        config = self.config
        architecture = getattr(config, "architecture", "dense")
        return (
            f"  {config.task:<15} {config.dataset:<15} {architecture:<6} {self.outcome:<18} "
            f"{self.seconds:>6}  {self.where}"
        )


def train_each(
    configs: list[RunConfig], say: Callable[[str], None], warn: Callable[[str], None]
) -> list[SuiteRow]:
    """Trains every config in turn; a failing run is recorded and the others still run.

    Args:
        configs: from `plan`.
        say: prints a progress line (`== task on dataset (architecture)`).
        warn: prints a failure as `Error: ...` (with the traceback first under `--debug`).

    Returns:
        One `SuiteRow` per config, in order.
    """
    from tfapps.api import train

    rows = []
    for config in configs:
        say(f"== {config.task} on {config.dataset} ({getattr(config, 'architecture', 'dense')})")
        try:
            result = train(config)
        except Exception as error:
            if config.debug:
                traceback.print_exc()
            message = str(explain(error))
            rows.append(SuiteRow(config, "FAILED", "-", message))
            warn(f"Error: {message}")
            continue
        headline = result.headline
        outcome = f"{headline['metric']}={headline['value']:.4f}"
        rows.append(SuiteRow(config, outcome, f"{result.seconds:.0f}s", str(result.run_dir)))
    return rows
