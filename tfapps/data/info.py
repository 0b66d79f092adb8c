"""What tfapps knows about a dataset once it is read (`DatasetInfo`) and how its examples are
cached (`CachePlan`); no TensorFlow import."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class DatasetInfo:
    """What the model builder, the reports and run.json need to know about a dataset.

    Args:
        name: the `--dataset` value as given.
        source: `"embedded"`, `"catalog"` or `"local"`.
        class_names: label names in label-index order (classifiers), else empty.
        input_shape: shape of one input example without the batch axis, if fixed.
        sizes: number of examples per split, after `--max-examples`.
        details: anything else worth recording (origin, resizing, dropped rows, ...).
        summary: what was read, as `DataSummary.to_dict` gives it (printed before training).
    """

    name: str
    source: str
    class_names: list[str] = field(default_factory=list)
    input_shape: list[int] | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Returns the JSON-ready dict recorded in run.json under `dataset`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DatasetInfo:
        """Rebuilds the info from `to_dict`'s output; missing fields take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{"name": "", "source": "", **{k: v for k, v in values.items() if k in names}})


@dataclass
class CachePlan:
    """How the input pipeline keeps each split's examples once read.

    Args:
        mode: `"memory"` (tf.data's cache in RAM, the default), `"disk"` (cache files in
            `directory`) or `"none"` (read every epoch: the examples are already decoded in
            memory, or they would fit neither in memory nor on disk).
        directory: where `"disk"` caches go. Defaults to none.
    """

    mode: str = "memory"
    directory: str | None = None

    def target(self, split: str) -> str | None:
        """The `cache` argument of `pipeline.batched` for one split: `""` (in memory), a file
        name (on disk) or `None` (no cache)."""
        if self.mode == "memory":
            return ""
        if self.mode == "disk":
            return str(Path(self.directory) / split)
        return None
