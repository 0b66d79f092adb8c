"""`EmbeddedDataset`: a dataset shipped inside an installed package, prepared offline through
an in-package TFDS builder. Each task lists its own (`Task.embedded`).

Plain data, no TensorFlow import: `tfapps datasets` and `--help` read it instantly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbeddedDataset:
    """A dataset shipped inside an installed package and prepared offline through TFDS.

    Args:
        name: the `--dataset` value.
        examples: number of examples before splitting.
        origin: the package that ships the data.
        description: one line for `tfapps datasets`.
        builder: `module:Class` of the in-package `tfds.core.GeneratorBasedBuilder`.
        builder_config: name of the builder config to use, if the builder has several.
    """

    name: str
    examples: int
    origin: str
    description: str
    builder: str
    builder_config: str | None = None
