"""What tfapps knows about a dataset once it is read (`DatasetInfo`) and how its examples are
cached (`CachePlan`); no TensorFlow import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tfapps.data.specs import DataOrigin, DataSpec, spec_from_dict
from tfapps.data.summary import DataSummary

SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class DatasetInfo:
    """What the model builder, the reports and run.json need to know about a dataset.

    Args:
        name: the `--dataset` value as given.
        source: `"embedded"`, `"catalog"` or `"local"`.
        origin: where the bytes came from (a path, a TFDS builder, a package).
        class_names: label names in label-index order (classifiers), else empty.
        train_class_counts: training examples per class name (classifiers), else empty.
        sizes: number of examples per split, after `--max-examples`.
        spec: what the task reads (`ImageSpec`, `TextSpec` or `TableSchema`).
        summary: what was read (printed before training).
    """

    name: str
    source: str
    origin: DataOrigin = field(default_factory=DataOrigin)
    class_names: list[str] = field(default_factory=list)
    train_class_counts: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    spec: DataSpec | None = None
    summary: DataSummary = field(default_factory=DataSummary)

    def to_dict(self) -> dict[str, Any]:
        """Returns the JSON-ready dict recorded in run.json under `dataset`."""
        return {
            "name": self.name,
            "source": self.source,
            "origin": self.origin.to_dict(),
            "class_names": list(self.class_names),
            "train_class_counts": dict(self.train_class_counts),
            "sizes": dict(self.sizes),
            "spec": None if self.spec is None else self.spec.to_dict(),
            "summary": self.summary.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DatasetInfo:
        """Rebuilds the info from `to_dict`'s output; missing fields take their defaults."""
        return cls(
            name=values.get("name", ""),
            source=values.get("source", ""),
            origin=DataOrigin.from_dict(values.get("origin") or {}),
            class_names=list(values.get("class_names", [])),
            train_class_counts=dict(values.get("train_class_counts", {})),
            sizes=dict(values.get("sizes", {})),
            spec=spec_from_dict(values.get("spec")),
            summary=DataSummary.from_dict(values.get("summary") or {}),
        )


@dataclass
class CachePlan:
    """How the input pipeline keeps each split's examples once read.

    Args:
        mode: `"memory"` (tf.data's cache in RAM, the default), `"disk"` (the examples were
            decoded into files in `directory` as they were read, and the pipeline reads them
            from there) or `"none"` (no cache: the examples are already decoded in memory, or
            they would fit neither in memory nor on disk and are read every epoch).
        directory: where a `"disk"` cache is. Defaults to none.
    """

    mode: str = "memory"
    directory: str | None = None

    def target(self) -> str | None:
        """The `cache` argument of `pipeline.batched`: `""` (tf.data's cache in
        memory) or `None` (no cache by the pipeline)."""
        return "" if self.mode == "memory" else None
