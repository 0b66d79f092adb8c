"""What was read: the short data summary every task prints before training and records in
run.json (`dataset.summary`).

A reader fills a `DataSummary` as it goes: what it read and kept, what it dropped and why,
classes with their counts, each column's kind, and warnings for data that looks wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHOWN_CLASSES = 12  # classes listed by name in the printed line; run.json holds them all
IMBALANCE_RATIO = 3  # classes are imbalanced when the largest has this many times the smallest
SHOWN_EXAMPLES = 5  # classes a warning about many of them names
SMALL_CLASS = 5  # examples under which a class's 20% test share rounds up to one or down to none


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
        """run.json's `dataset.summary`: the printed lines, the warnings and the facts."""
        return {"lines": self.lines, "warnings": self.warnings, "facts": self.facts}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DataSummary:
        """The summary `to_dict` wrote."""
        return cls(
            list(values.get("lines", [])),
            list(values.get("warnings", [])),
            dict(values.get("facts", {})),
        )


@dataclass
class Skipped:
    """Files left out, grouped by reason: how many, and one example path per reason."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, path: Path) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, str(path))

    def to_dict(self) -> dict[str, dict]:
        """`{reason: {"files": n, "example": path}}` for run.json."""
        return {
            reason: {"files": count, "example": self.examples[reason]}
            for reason, count in self.counts.most_common()
        }


def count_phrase(count: int, singular: str, plural: str | None = None) -> str:
    """`1 image`, `3,670 images`."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def number_text(value: float) -> str:
    """A number as a summary line shows it: `321,656`, `3,251,310,000`, `1.225`, `0.0042`."""
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def max_examples_line(max_examples: int, kept: Mapping[str, int], read: Mapping[str, int]) -> str:
    """`--max-examples 1,000: train 1,000 of 3,200, validation 250 of 800, test 313 of 1,000`."""
    return f"--max-examples {max_examples:,}: " + ", ".join(
        f"{name} {kept[name]:,} of {read[name]:,}" for name in kept
    )


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


def class_warnings(
    counts: Mapping[str, int], too_small: list[str], unit: str, uneven: str | None = None
) -> list[str]:
    """Warnings about a classifier's classes: imbalance (the largest class at least
    `IMBALANCE_RATIO` times the smallest) and small classes, in one line however many: those
    too small for every split (their number and the smallest of them), and splits that came
    out far from the shares asked because small classes put an example in each
    (`stratify.uneven_splits`).

    Args:
        counts: examples per class name.
        too_small: the classes too small to reach validation and test.
        unit: what an example is, such as `"text"`.
        uneven: `stratify.uneven_splits`' phrase, or `None` when the splits came out as
            asked (or were given). Defaults to `None`.
    """
    warnings = []
    note = f"; {uneven}, as a class this small puts one {unit} in each split" if uneven else ""
    if len(too_small) == 1:
        name = too_small[0]
        warnings.append(
            f"class {name!r} has {count_phrase(counts[name], unit)}: too few to reach both "
            f"validation and test{note}"
        )
    elif too_small:
        warnings.append(
            f"{len(too_small):,} classes have too few {unit}s to reach both validation and "
            f"test, such as {_smallest(counts, too_small)}{note}"
        )
    elif uneven:
        small = [name for name, count in counts.items() if count < SMALL_CLASS]
        if len(small) == len(counts):
            which = f"all {len(counts):,} classes have"
        else:
            verb = "has" if len(small) == 1 else "have"
            which = f"{len(small):,} of the {len(counts):,} classes {verb}"
        which = (
            f"{which} fewer than {SMALL_CLASS} {unit}s (such as {_smallest(counts, small)})"
            if small
            else "its classes are small"
        )
        warnings.append(f"{uneven}: {which}, and a class this small puts one {unit} in each split")
    if is_imbalanced(counts):
        largest, smallest = max(counts, key=counts.get), min(counts, key=counts.get)
        warnings.append(
            f"classes are imbalanced ({largest} {counts[largest]:,}, {smallest} "
            f"{counts[smallest]:,}): accuracy can mislead, so metrics.csv also has "
            "balanced_accuracy and f1_macro; --class-weight balanced weighs classes evenly"
        )
    return warnings


def _smallest(counts: Mapping[str, int], names: list[str]) -> str:
    """`'a' (1), 'b' (2) and 145 more`: the smallest of `names` first."""
    smallest = sorted(names, key=lambda name: (counts[name], name))
    shown = ", ".join(f"{name!r} ({counts[name]:,})" for name in smallest[:SHOWN_EXAMPLES])
    more = len(names) - SHOWN_EXAMPLES
    return shown + (f" and {more:,} more" if more > 0 else "")


def merged_labels_warnings(merged: Mapping[str, list[str]]) -> list[str]:
    """The warning about labels spelled several ways that became one class each
    (`labels.canonical_labels`): one line however many, the first classes named."""
    if not merged:
        return []
    shown = [f"{spellings} are one class, {name!r}" for name, spellings in merged.items()]
    if len(shown) == 1:
        return [f"labels {shown[0]}"]
    more = len(shown) - SHOWN_EXAMPLES
    return [
        f"labels spelled several ways are one class each ({len(shown):,} classes): "
        + "; ".join(shown[:SHOWN_EXAMPLES])
        + (f"; and {more:,} more" if more > 0 else "")
    ]


def is_imbalanced(counts: Mapping[str, int]) -> bool:
    """Whether the largest class has at least `IMBALANCE_RATIO` times the smallest's count."""
    values = [count for count in counts.values()]
    return bool(values) and max(values) >= IMBALANCE_RATIO * max(1, min(values))


def class_counts(class_names: list[str], labels) -> dict[str, int]:
    """Examples per class name, in class order, from label indices (a NumPy array)."""
    return {name: int((labels == index).sum()) for index, name in enumerate(class_names)}


def tfds_classes_summary(
    read: str, train_counts: Mapping[str, int], too_small: list[str], unit: str
) -> DataSummary:
    """The summary of a TFDS classifier dataset: its training examples per class (the other
    splits as the builder has or tfapps carves them), and the class warnings.

    Args:
        read: where it came from, such as `"TFDS mnist 3.0.1"`.
        train_counts: training examples per class name.
        too_small: classes too small to reach a carved split.
        unit: what an example is, such as `"image"`.
    """
    return DataSummary(
        lines=[f"{classes_line(train_counts, 'training ' + unit)} from {read}"],
        warnings=class_warnings(train_counts, too_small, unit),
        facts={"train_classes": dict(train_counts)},
    )
