"""Run configurations: every knob of a run, validated, with a JSON round trip.

Nothing heavy is imported here, so the CLI reads defaults and help from these classes for
`--help`. `base.py` holds `RunConfig` (shared options), `tasks.py` each command's own,
`checks.py` the value checks.
"""

from tfapps.config.base import (
    ADDED_OPTIONS,
    ARCHITECTURES,
    DEVICES,
    PRECISIONS,
    STRATEGIES,
    RunConfig,
    separator,
)
from tfapps.config.tasks import (
    CHOICES,
    CONFIG_CLASSES,
    LOSSES,
    ImageConfig,
    RegressConfig,
    TextConfig,
)

__all__ = [
    "ADDED_OPTIONS",
    "ARCHITECTURES",
    "CHOICES",
    "CONFIG_CLASSES",
    "DEVICES",
    "LOSSES",
    "PRECISIONS",
    "STRATEGIES",
    "ImageConfig",
    "RegressConfig",
    "RunConfig",
    "TextConfig",
    "separator",
]
