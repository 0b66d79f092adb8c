"""Identical examples: each kept in one split, and copies that carry other labels left out.

A photo saved three times (`IMG_0001.jpg`, `IMG_0001 (1).jpg`, `copy_IMG_0001.jpg`), a review
posted twice, a table row written twice: when one copy trains and another tests, the test
score counts a memorised answer. Every reader gives each example a content key (`file_keys`
over a file's bytes, `text_keys` over texts stripped of surrounding spaces, `frame_keys` over
a table's cells, `bytes_keys` over a TFDS example's encoded bytes), and then:

* where tfapps carves the splits, it carves groups of identical examples, not examples:
  each group is drawn as one example (its label is the group's label; the carving is
  unchanged when nothing is written twice) and all its copies go where it goes;
* where a split is given (a test or validation folder, a TFDS dataset's own splits or its
  fixed slices), the split is kept as given, and the copies of its examples are left out of
  the splits before it (train before validation before test);
* every copy of an example whose copies carry different labels is left out, wherever it
  is: no classifier can be right on both (regression targets are not labels: a reader that
  passes no labels groups exact copies only).

Two photos or reviews are only identical when one was copied, but two rows of a table whose
columns take few values (sex, class, an age in years) are often different people with the
same answers. So identical rows are copies only when a match is unlikely by chance
(`row_copies.chance_matches`): identical rows holding a number that no other row holds (a weight, a
price) are copies, while rows of a few common values equal others by chance and are kept as
separate rows, neither grouped nor left out.

The summary says how many copies there were, with an example, what was left out and how
many rows were equal by chance; run.json keeps the counts (`dataset.summary.facts.duplicates`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfapps.data.summary import DataSummary, count_phrase
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

POOL, VALIDATION, TEST = 0, 1, 2  # where an example comes from: carved by tfapps, or given
GIVEN = {None: POOL, "train": POOL, "validation": VALIDATION, "test": TEST}
KEY_BYTES = 16  # BLAKE2b digest size: 128 bits, collisions out of reach
SHOWN_COPIES = 3  # copies named in an example


@dataclass
class Duplicates:
    """Groups of identical examples, and the examples left out because of them.

    Args:
        group: `[n]` int64, the group of each example (identical content, identical group).
        given: `[n]` int8, where each example comes from (`POOL`, `VALIDATION`, `TEST`).
        conflicting: `[n]` bool, examples left out because their copies carry other labels.
        earlier_copy: `[n]` bool, examples left out as copies of an example of a later given
            split.
        by_chance: `[n]` bool, rows equal to another but kept apart as equal by chance
            (`row_copies.chance_matches`), each a group of its own; none for examples that are not
            table rows. Defaults to none.
        compared: what rows equal by chance agree on, for the summary (`"feature"`).
            Defaults to `"feature"`.
    """

    group: np.ndarray
    given: np.ndarray
    conflicting: np.ndarray
    earlier_copy: np.ndarray
    by_chance: np.ndarray | None = None
    compared: str = "feature"

    @property
    def kept(self) -> np.ndarray:
        """`[n]` bool: the examples that are not left out."""
        return ~(self.conflicting | self.earlier_copy)

    @cached_property
    def representatives(self) -> np.ndarray:
        """The first kept example of each group, sorted: the rows to carve or stratify."""
        kept = np.flatnonzero(self.kept)
        count = len(self.group)
        first = np.full(int(self.group.max(initial=-1)) + 1, count, np.int64)
        np.minimum.at(first, self.group[kept], kept)
        return np.sort(first[first < count])

    def expand(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each split's kept examples, from its rows of `representatives`.

        Args:
            rows: split name to positions in `representatives` (as a carving returns them).

        Returns:
            Split name to the sorted rows of every kept example of those groups.
        """
        representatives, kept = self.representatives, self.kept
        expanded = {}
        for split, chosen in rows.items():
            member = np.zeros(int(self.group.max(initial=-1)) + 1, bool)
            member[self.group[representatives[chosen]]] = True
            expanded[split] = np.flatnonzero(kept & member[self.group])
        return expanded

    def refuse_emptied_classes(
        self,
        labels: np.ndarray,
        class_names: list[str],
        unit: str,
        name: Callable[[int], str],
        advice: str | None = None,
    ) -> None:
        """Refuses a class whose every example has a copy under another class.

        Args:
            labels: `[n]` label indices.
            class_names: class names in label order.
            unit: what an example is, such as `"image"`.
            name: an example's name in messages.
            advice: what to do, ending the message. Defaults to keeping each example in one
                class.

        Raises:
            InvalidInput: naming the class and one of its copies under another class.
        """
        count = len(class_names)
        emptied = np.flatnonzero(
            (np.bincount(labels, minlength=count) > 0)
            & (np.bincount(labels[self.kept], minlength=count) == 0)
        )
        if len(emptied):
            index = int(emptied[0])
            row = int(np.flatnonzero(labels == index)[0])
            twin = np.flatnonzero((self.group == self.group[row]) & (labels != index))
            raise InvalidInput(
                f"Every {unit} of class {class_names[index]!r} has a copy under another class "
                f"(e.g. {name(row)} = {name(int(twin[0]))}): all were left out as copies with "
                "other labels, so none is left to learn it from; "
                f"{advice or f'keep each {unit} in the one class it belongs to'}."
            )

    def summarize(
        self,
        summary: DataSummary,
        unit: str,
        name: Callable[[int], str],
        class_names: list[str] | None = None,
        labels: np.ndarray | None = None,
        content: Callable[[int], str] | None = None,
    ) -> None:
        """Adds the warnings about copies to `summary` and their counts to its facts.

        Args:
            summary: the data summary to complete.
            unit: what an example is, such as `"image"`.
            name: an example's name in messages (a path, a text's start, a row number).
            class_names: class names in label order, to name conflicting labels.
            labels: `[n]` label indices, with `class_names`.
            content: what an example holds, said once for the copies named (a text's
                start). Defaults to nothing.
        """
        sizes = np.bincount(self.group)
        copies = int((sizes - 1).clip(0).sum())
        summary.facts["duplicates"] = {
            "copies": copies,
            "written_more_than_once": int((sizes > 1).sum()),
            "left_out_as_earlier_copies": int(self.earlier_copy.sum()),
            "left_out_with_other_labels": int(self.conflicting.sum()),
        }
        if self.by_chance is not None:
            chance = int(self.by_chance.sum())
            summary.facts["duplicates"]["equal_by_chance"] = chance
            if chance:
                summary.lines.append(
                    f"{count_phrase(chance, unit)} equal another {unit} in every "
                    f"{self.compared}; with columns of few values that is expected, so they are "
                    f"kept as separate {unit}s"
                )
        if not copies:
            return

        def example(group: int, by_label: bool = False) -> str:
            rows = np.flatnonzero(self.group == group)
            if by_label and labels is not None:
                rows = np.sort(rows[np.unique(labels[rows], return_index=True)[1]])
            labelled = by_label and class_names is not None and labels is not None
            shown = [
                name(int(row)) + (f" ({class_names[labels[row]]})" if labelled else "")
                for row in rows[:SHOWN_COPIES]
            ]
            more = " = ..." if len(rows) > SHOWN_COPIES else ""
            return " = ".join(shown) + more + (f": {content(int(rows[0]))}" if content else "")

        plain = np.bincount(self.group[~self.conflicting], minlength=len(sizes))
        if plain.max(initial=0) > 1:
            summary.warnings.append(
                f"{count_phrase(int((plain - 1).clip(0).sum()), 'copy', 'copies')} of "
                f"{count_phrase(int((plain > 1).sum()), unit)} written more than once (e.g. "
                f"{example(int(np.argmax(plain)))}): each {unit} and its copies are kept in "
                "one split"
            )
        if self.earlier_copy.any():
            group = int(self.group[np.flatnonzero(self.earlier_copy)[0]])
            where = np.bincount(self.given[self.earlier_copy], minlength=2)
            origin = ", ".join(
                f"{count:,} from {split}"
                for split, count in zip(("train", "validation"), where, strict=False)
                if count
            )
            summary.warnings.append(
                f"left out {count_phrase(int(self.earlier_copy.sum()), unit)} already in a "
                f"given validation or test split ({origin}; e.g. {example(group)}): a given "
                "split is kept as given"
            )
        if self.conflicting.any():
            group = int(self.group[np.flatnonzero(self.conflicting)[0]])
            groups = len(np.unique(self.group[self.conflicting]))
            summary.warnings.append(
                f"left out {count_phrase(int(self.conflicting.sum()), unit)} whose copies "
                f"carry different labels ({count_phrase(groups, unit)} written under more "
                f"than one label, e.g. {example(group, by_label=True)})"
            )


def split_row_name(sizes: dict[str, int], unit: str) -> Callable[[int], str]:
    """Names rows of splits read one after another: `train example 12`, `test example 3`.

    Args:
        sizes: rows of each split, in the order they were read.
        unit: what a row is, such as `"example"`.
    """
    ends = np.cumsum(list(sizes.values()))

    def name(row: int) -> str:
        index = int(np.searchsorted(ends, row, side="right"))
        return f"{list(sizes)[index]} {unit} {row - (ends[index - 1] if index else 0)}"

    return name


def find_duplicates(
    keys: np.ndarray, labels: np.ndarray | None = None, given: np.ndarray | None = None
) -> Duplicates:
    """Groups examples by content key, and decides which are left out (module docstring).

    Args:
        keys: `[n]` content keys (bytes or integers), equal for identical examples.
        labels: `[n]` integer labels; copies under other labels are left out. Defaults to
            none (regression: no labels to disagree).
        given: `[n]` where each example comes from (`POOL`, `VALIDATION`, `TEST`). Defaults
            to every example carved by tfapps (`POOL`).

    Returns:
        The groups and what is left out.
    """
    count = len(keys)
    inverse = np.unique(np.asarray(keys), return_inverse=True)[1]
    group = inverse.reshape(-1).astype(np.int64, copy=False)
    groups = int(group.max()) + 1 if count else 0
    given = np.zeros(count, np.int8) if given is None else np.asarray(given, np.int8)
    latest = np.zeros(groups, np.int8)
    np.maximum.at(latest, group, given)
    conflicting = np.zeros(count, bool)
    if labels is not None and count:
        labels = np.asarray(labels)
        lowest, highest = np.full(groups, labels.max()), np.full(groups, labels.min())
        np.minimum.at(lowest, group, labels)
        np.maximum.at(highest, group, labels)
        conflicting = (lowest != highest)[group]
    earlier_copy = (given < latest[group]) & ~conflicting
    return Duplicates(group, given, conflicting, earlier_copy)


def file_keys(paths: list[Path]) -> np.ndarray:
    """Keys of files: equal for files of identical bytes.

    A file's key is its size, followed by the BLAKE2b digest of its bytes when another file
    has the same size (only those are read whole: identical files have equal sizes, and
    photos rarely share one, so a folder scan stays a scan of headers).
    """
    sizes = np.array([os.stat(path).st_size for path in paths], np.int64)
    _, where, counts = np.unique(sizes, return_inverse=True, return_counts=True)
    shared = counts[where.reshape(-1)] > 1
    keys = np.zeros(len(paths), f"S{8 + KEY_BYTES}")
    for index, path in enumerate(paths):
        digest = _file_digest(path) if shared[index] else b""
        keys[index] = int(sizes[index]).to_bytes(8, "little") + digest
    return keys


def _file_digest(path: Path) -> bytes:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, lambda: hashlib.blake2b(digest_size=KEY_BYTES)).digest()


def bytes_keys(values: Iterable[bytes]) -> np.ndarray:
    """BLAKE2b digests (`KEY_BYTES` long) of byte strings, such as encoded images."""
    return np.array(
        [hashlib.blake2b(value, digest_size=KEY_BYTES).digest() for value in values],
        dtype=f"S{KEY_BYTES}",
    )


def text_keys(texts: pd.Series) -> np.ndarray:
    """Keys of texts: equal for texts equal once stripped of surrounding spaces (the raw
    text otherwise: two spellings, cases or punctuations are two texts)."""
    return frame_keys(texts.astype(str).str.strip().to_frame())


def frame_keys(frame: pd.DataFrame) -> np.ndarray:
    """Keys of a table's rows (pandas' 64-bit row hash over the cells as read: a CSV's
    strings, a TFDS dataset's values): equal for rows whose every cell is equal."""
    import pandas as pd

    try:
        hashed = pd.util.hash_pandas_object(frame, index=False, categorize=True)
    except (TypeError, ValueError):  # cells pandas cannot hash (arrays): by their text
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False, categorize=True)
    return hashed.to_numpy()
