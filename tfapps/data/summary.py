"""What was read: the short data summary every task prints before training and records in
run.json (`dataset.summary`).

A reader fills a `DataSummary` as it goes: what it read and kept, what it dropped and why,
classes with their counts, each column's kind, and warnings for data that looks wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SHOWN_CLASSES = 12  # classes listed by name in the printed line; run.json holds them all


@dataclass
class DataSummary:
    """The summary of one dataset as read.

    Args:
        lines: the lines printed before training, most important first.
        warnings: things that look wrong (printed as warnings, kept in run.json).
        facts: JSON-ready figures behind the lines (counts per class, files skipped, ...).
    """

    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """run.json's `dataset.summary`: the facts, the printed lines and the warnings."""
        return {**self.facts, "lines": self.lines, "warnings": self.warnings}


def count_phrase(count: int, singular: str, plural: str | None = None) -> str:
    """`1 image`, `3,670 images`."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def classes_line(counts: Mapping[str, int], unit: str) -> str:
    """`3,670 images in 5 classes (daisy 633, dandelion 898, ...)`."""
    shown = [f"{name} {count:,}" for name, count in list(counts.items())[:SHOWN_CLASSES]]
    if len(counts) > SHOWN_CLASSES:
        shown.append(f"... {len(counts) - SHOWN_CLASSES} more")
    total = sum(counts.values())
    return (
        f"{count_phrase(total, unit)} in {count_phrase(len(counts), 'class', 'classes')} "
        f"({', '.join(shown)})"
    )


def skipped_line(skipped: Mapping[str, Mapping[str, Any]], unit: str) -> str:
    """`skipped 3 files: not an image Pillow can read (2, e.g. a/notes.txt); ...`."""
    total = sum(group["files"] for group in skipped.values())
    groups = "; ".join(
        f"{reason} ({group['files']:,}, e.g. {group['example']})"
        for reason, group in skipped.items()
    )
    return f"skipped {count_phrase(total, unit)}: {groups}"
