"""The tasks, by name: the only place that lists them.

Each task is a module of this package that defines its config class and a `Task` subclass,
and ends with `TASK = ...` (see `base.py` for what a task answers). Adding a task is a new
module and one entry in `TASK_MODULES`; the command line, train-all, predict, evaluate, serve
and export then know it. No module imports TensorFlow when it is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from tfapps.config import RunConfig
from tfapps.errors import InvalidInput
from tfapps.tasks.base import Task
from tfapps.tasks.task_model import TaskModel

TASK_MODULES = ("image", "text", "table_regression", "table_classification")

TASKS: dict[str, Task] = {
    task.name: task
    for task in (importlib.import_module(f"tfapps.tasks.{module}").TASK for module in TASK_MODULES)
}


def get_task(name: str) -> Task:
    """The task called `name` (a command, such as `"regress"`).

    Raises:
        InvalidInput: no task has that name; the message lists the tasks.
    """
    if name not in TASKS:
        raise InvalidInput(f"Unknown task {name!r}; expected one of {sorted(TASKS)}.")
    return TASKS[name]


def config_from_dict(values: dict[str, Any]) -> RunConfig:
    """Rebuilds the config that `RunConfig.to_dict` wrote (for example from a run's run.json).

    Options the dict lacks take their defaults; unknown keys are ignored.

    Raises:
        InvalidInput: the recorded task is unknown.
    """
    values = dict(values)
    config_class = get_task(values.pop("task", None)).config_class
    names = set(config_class.__dataclass_fields__)
    return config_class(**{k: v for k, v in values.items() if k in names})


__all__ = ["TASKS", "Task", "TaskModel", "config_from_dict", "get_task"]
