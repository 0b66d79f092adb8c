"""Folder layouts of labelled files: the rules image folders and text folders share.

A folder given as `--dataset` is `root/<class>/...` (the files of a class folder and of its
sub-folders are its examples; tfapps carves train, validation and test) or
`root/<split>/<class>/...`, with split folders named in any case and common spelling, alone
or as a word of a longer name (`SPLIT_SPELLINGS`: `train`, `Training`, `seg_train`,
`20news-bydate-train`, `TrainSet`, `val`, `valid`, `dev`, `test`, `Testing`, ...). A train
folder is needed; a validation or test folder is that split, as given; a split without a
folder is carved from train. In both layouts:

* Links are followed, to files and to folders; a link back to a folder above it (a loop)
  is left out and reported, so every walk ends.
* Hidden entries (`.` first) and other systems' leftovers (`__MACOSX`, `@eaDir`,
  `Thumbs.db`, `desktop.ini`) are passed over (these two rules: `tfapps.data.folder_walk`).
* A folder holding nothing but one folder of folders (an archive's top folder, as in
  `chest_xray/chest_xray/train/`) is looked through, and the summary says so.
* Unlabelled folders (aclImdb's `unsup`, `seg_pred`: `UNLABELLED_WORDS`), files outside the
  class folders and empty class or split folders are left out, and the summary says so;
  so are class folders holding only sub-folders, a class a given split lacks, and another
  split's class folder matched to train's by case.
* Refused in one line: split folders beside class folders, class folders holding split
  folders (`cats/train/`), two folders for one split, split folders without train, a
  validation or test class train lacks, no class folder with files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tfapps.data.folder_walk import BROKEN_LINK, LOOP, UNLISTED, listed, walk_files
from tfapps.data.summary import Skipped, count_phrase
from tfapps.errors import InvalidInput

SPLIT_SPELLINGS = {
    "train": ("train", "training"),
    "validation": ("val", "valid", "validation", "dev"),
    "test": ("test", "testing"),
}
SPLIT_SUFFIXES = ("set", "data", "split")  # `trainset`, `testdata`: one word, the same split
UNLABELLED_WORDS = ("unsup", "unsupervised", "unlabeled", "unlabelled", "pred", "predict")

# Why an entry of the folder is left out (`Skipped` reasons, the walk's too), and their plurals.
OUTSIDE = "file outside the class folders"
UNLABELLED = "unlabelled folder"
PLURALS = {
    OUTSIDE: "files outside the class folders",
    UNLABELLED: "unlabelled folders",
    LOOP: "links back to folders above them (loops)",
    BROKEN_LINK: "broken links",
    UNLISTED: "folders that cannot be listed",
}


@dataclass
class LabelledFile:
    """One file of a labelled folder.

    Args:
        path: the file (through the links that lead to it).
        label: the name of its class folder (train's spelling).
        folder: its class folder.
        split: the split folder it came from (`"train"`, `"validation"`, `"test"`), or
            `None` in the `root/<class>/` layout.
    """

    path: Path
    label: str
    folder: Path
    split: str | None = None


@dataclass
class FolderLayout:
    """What `read_layout` found.

    Args:
        root: the folder given.
        splits: the given split folders by split name (empty: `root/<class>/`).
        class_names: sorted class folder names (train's, when split folders are given).
        files: every file of a class folder, class by class, in a stable order.
        left_out: entries left out of the layout, by reason (`PLURALS`).
        lines: how the folder was read, beyond the layout (folders looked through).
        warnings: what looks wrong about the layout.
    """

    root: Path
    splits: dict[str, Path]
    class_names: list[str]
    files: list[LabelledFile]
    left_out: Skipped
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """`train/ validation/ test/ folders given (Training, val, Testing)`, or
        `one folder a class, no split folders`."""
        if not self.splits:
            return "one folder a class, no split folders"
        given = " ".join(f"{split}/" for split in self.splits)
        names = [folder.name for folder in self.splits.values()]
        spelled = "" if names == list(self.splits) else f" ({', '.join(names)})"
        return f"{given} folders given{spelled}"

    def summary_warnings(self) -> list[str]:
        """The layout's warnings and, when anything was left out, one line saying what."""
        if not self.left_out.counts:
            return list(self.warnings)
        examples = self.left_out.examples
        parts = [
            f"{count_phrase(count, reason, PLURALS[reason])} (e.g. {examples[reason]})"
            for reason, count in self.left_out.counts.most_common()
        ]
        return [*self.warnings, f"left out of {self.root}: {'; '.join(parts)}"]


def split_of(name: str) -> str | None:
    """The split a folder name means (`"Training"` → `"train"`, `"seg_test"` → `"test"`,
    `"dev"` → `"validation"`), or `None` when it names none or more than one."""
    found = set()
    for word in _words(name):
        for suffix in ("", *SPLIT_SUFFIXES):
            stem = word.removesuffix(suffix) if suffix else word
            found.update(split for split, names in SPLIT_SPELLINGS.items() if stem in names)
    return found.pop() if len(found) == 1 else None


def read_layout(root: Path, unit: str, expected: str) -> FolderLayout:
    """Finds the class folders (and split folders) of `root` and their files.

    Args:
        root: the folder given as `--dataset`.
        unit: what a file holds, for messages (`"image"`, `"text"`).
        expected: the layout to name when none is found, such as `"root/<class>/*.jpg"`.

    Returns:
        The layout; its `files` may still hold files the reader cannot read.

    Raises:
        InvalidInput: a layout tfapps cannot read as meant (see the module docstring).
    """
    layout = FolderLayout(root, {}, [], [], Skipped())
    top = _looked_through(root, layout)
    folders, files = listed(top, Skipped())
    candidates = [f for f in folders if not _unlabelled(f.name)]
    split_named = [f for f in candidates if split_of(f.name)]
    holding_classes = [f for f in split_named if _holds_only_folders(f)]
    if split_named and len(split_named) == len(candidates):
        for entry in (*files, *(f for f in folders if f not in candidates)):
            layout.left_out.add(OUTSIDE if entry in files else UNLABELLED, entry)
        _read_splits(top, split_named, layout, unit)
    elif holding_classes:
        others = ", ".join(sorted(f.name for f in candidates if f not in split_named)[:5])
        raise InvalidInput(
            f"{top} holds split folders ({', '.join(sorted(f.name for f in split_named))}) "
            f"beside other folders ({others}); expected either root/<class>/... or "
            "root/<split>/<class>/... (train, validation, test)."
        )
    else:
        classes = _read_classes(top, layout, unit)
        if split_named:
            layout.warnings.append(
                f"class folder {split_named[0].name!r} is named like a split folder but holds "
                f"{unit}s, not class folders: it is read as a class"
            )
        layout.class_names = sorted(classes)
        layout.files = [file for name in layout.class_names for file in classes[name]]
    if not layout.files:
        loose = f" ({count_phrase(len(files), 'file')} directly in it)" if files else ""
        raise InvalidInput(
            f"No {unit}s found under {root}{loose}; expected a folder {expected} with one "
            "sub-folder a class (or train/ and test/ folders of them)."
        )
    return layout


def _read_splits(top: Path, folders: list[Path], layout: FolderLayout, unit: str) -> None:
    """Reads `top/<split>/<class>/...` into `layout`."""
    by_split: dict[str, Path] = {}
    for folder in sorted(folders):
        split = split_of(folder.name)
        if split in by_split:
            raise InvalidInput(
                f"{top} has two {split} folders, {by_split[split].name} and {folder.name}; "
                "keep one (or merge them)."
            )
        by_split[split] = folder
    if "train" not in by_split:
        names = " and ".join(folder.name for folder in by_split.values())
        raise InvalidInput(f"{top} holds {names} but no train folder (train, training, ...).")
    classes: dict[str, dict[str, list[LabelledFile]]] = {}
    for split in (name for name in SPLIT_SPELLINGS if name in by_split):
        inner = _looked_through(by_split[split], layout, within_split=True)
        found = _read_classes(inner, layout, unit, split)
        if found:
            classes[split] = found
        elif split == "train":
            raise InvalidInput(
                f"The train folder {by_split['train']} holds no class folder with files; "
                f"expected {by_split['train']}/<class>/..."
            )
        else:
            layout.warnings.append(
                f"the {split} folder {by_split[split]} holds no {unit}s: {split} is carved "
                "from train instead"
            )
    layout.splits = {split: by_split[split] for split in classes}
    layout.class_names = sorted(classes["train"])
    for split, found in classes.items():
        labels = set()
        for name in sorted(found):
            label = _train_class(name, layout, split)
            labels.add(label)
            layout.files += [LabelledFile(f.path, label, f.folder, split) for f in found[name]]
        missing = sorted(set(layout.class_names) - labels)
        if missing:
            layout.warnings.append(
                f"the {split} folder {by_split[split]} has no {unit}s of "
                f"{', '.join(map(repr, missing))}: its {split} metrics leave them out"
            )


def _train_class(name: str, layout: FolderLayout, split: str) -> str:
    """Train's class folder for another split's class folder `name` (exactly, else by
    case); refuses a class train lacks."""
    matches = [train for train in layout.class_names if train == name] or [
        train for train in layout.class_names if train.casefold() == name.casefold()
    ]
    if len(matches) != 1:
        raise InvalidInput(
            f"The {split} folder {layout.splits[split]} has a class folder {name!r} that the "
            f"train folder lacks (train's classes: {layout.class_names}); every class needs "
            "training examples."
        )
    note = f"the {split} class folder {name!r} is read as train's {matches[0]!r}"
    if matches[0] != name and note not in layout.warnings:
        layout.warnings.append(note)
    return matches[0]


def _read_classes(
    folder: Path, layout: FolderLayout, unit: str, split: str | None = None
) -> dict[str, list[LabelledFile]]:
    """`{class folder name: its files}` of `folder/<class>/...`; empty class folders are
    left out with a warning."""
    folders, files = listed(folder, layout.left_out)
    for file in files:
        layout.left_out.add(OUTSIDE, file)
    found, empty, only_folders = {}, [], []
    for class_dir in folders:
        if _unlabelled(class_dir.name):
            layout.left_out.add(UNLABELLED, class_dir)
            continue
        subfolders, direct = listed(class_dir, Skipped())
        if subfolders and not direct and all(split_of(s.name) for s in subfolders):
            raise InvalidInput(
                f"The class folder {class_dir} holds split folders "
                f"({', '.join(s.name for s in subfolders)}); expected root/<split>/<class>/... "
                f"(such as train/{class_dir.name}/) or root/<class>/..."
            )
        paths = walk_files(class_dir, layout.left_out)
        if not paths:
            empty.append(class_dir.name)
            continue
        if subfolders and not direct:
            only_folders.append(class_dir)
        found[class_dir.name] = [LabelledFile(p, class_dir.name, class_dir, split) for p in paths]
    where = f"{folder}" if split is None else f"the {split} folder {folder}"
    if empty:
        layout.warnings.append(
            f"{count_phrase(len(empty), 'class folder')} of {where} hold no file and are "
            f"left out: {', '.join(empty[:5])}"
        )
    if found and len(only_folders) == len(found):
        example = listed(only_folders[0], Skipped())[0][0]
        layout.warnings.append(
            f"every class folder of {where} holds only sub-folders (e.g. "
            f"{example.relative_to(folder)}); their {unit}s count for the class folder "
            f"above them ({', '.join(sorted(found)[:5])})"
        )
    return found


def _looked_through(folder: Path, layout: FolderLayout, within_split: bool = False) -> Path:
    """`folder`, or the folder inside it when it holds nothing but one folder of folders
    (outside split folders, not a split folder: `root/train/` alone is a layout), repeatedly."""
    while True:
        folders, files = listed(folder, Skipped())
        if files or len(folders) != 1 or (split_of(folders[0].name) and not within_split):
            return folder
        if not _holds_only_folders(folders[0]):
            return folder
        layout.lines.append(f"read {folders[0]} (the only folder in {folder})")
        folder = folders[0]


def _holds_only_folders(folder: Path) -> bool:
    folders, files = listed(folder, Skipped())
    return bool(folders) and not files


def _unlabelled(name: str) -> bool:
    return any(word in UNLABELLED_WORDS for word in _words(name))


def _words(name: str) -> list[str]:
    """`"20news-bydate-train"` → 20, news, bydate, train; `"TrainSet"` → train, set;
    `"train2017"` → train, 2017."""
    return [w.casefold() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+", name)]
