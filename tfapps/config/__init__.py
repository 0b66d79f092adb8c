"""Run configurations: every knob of a run, validated, with a JSON round trip.

Nothing heavy is imported here, so the CLI reads defaults and help from these classes for
`--help`. `base.py` holds `RunConfig` (shared options), `options.py` the option groups several
tasks share, `fields.py` how an option is declared, `checks.py` the value checks. Each task's
own config class lives in its module of `tfapps.tasks`.
"""

from tfapps.config.base import RunConfig

__all__ = ["RunConfig"]
