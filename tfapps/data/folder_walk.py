"""Walking a folder of data files: links followed, loops and leftovers passed over.

Links are followed, to files and to folders; a link back to a folder above it (a loop) is
left out and recorded, so every walk ends. Hidden entries (`.` first) and other systems'
leftovers (`__MACOSX`, `@eaDir`, `Thumbs.db`, `desktop.ini`: `NOT_DATA`) are passed over.
Folder layouts (`tfapps.data.folders`) are read through these two functions.
"""

from __future__ import annotations

import os
from pathlib import Path

from tfapps.data.summary import Skipped

NOT_DATA = {"__macosx", "@eadir", "thumbs.db", "desktop.ini"}  # compared case-folded

# Why the walk leaves an entry out (`Skipped` reasons).
LOOP = "link back to a folder above it (a loop)"
BROKEN_LINK = "broken link"
UNLISTED = "folder that cannot be listed"


def walk_files(folder: Path, left_out: Skipped | None = None) -> list[Path]:
    """Every data file under `folder`, sub-folders and links followed, sorted by path.

    Hidden entries and other systems' leftovers are passed over; a link back to a folder
    above it is left out (recorded in `left_out` with broken links), so the walk ends.

    Args:
        folder: the folder to walk.
        left_out: where to record what was left out. Defaults to nowhere.
    """
    left_out = Skipped() if left_out is None else left_out
    found = []
    given, real = Path(os.path.abspath(folder)), Path(os.path.realpath(folder))
    above = {_identity(p) for p in (given, *given.parents, real, *real.parents)}
    pending = [(folder, frozenset(above))]
    while pending:
        current, above = pending.pop()
        folders, files = listed(current, left_out)
        found += files
        for sub in folders:
            identity = _identity(sub)
            if identity in above:
                left_out.add(LOOP, sub)
            else:
                pending.append((sub, above | {identity}))
    return sorted(found)


def listed(folder: Path, left_out: Skipped) -> tuple[list[Path], list[Path]]:
    """The entries of one folder, sorted, links followed; hidden entries and other systems'
    leftovers passed over.

    Args:
        folder: the folder to list.
        left_out: where to record broken links, or the folder when it cannot be listed.

    Returns:
        `(sub-folders, files)`.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        left_out.add(UNLISTED, folder)
        return [], []
    folders, files = [], []
    for entry in entries:
        if entry.name.startswith(".") or entry.name.casefold() in NOT_DATA:
            continue
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir or is_file:
            (folders if is_dir else files).append(Path(entry.path))
        elif entry.is_symlink():
            left_out.add(BROKEN_LINK, Path(entry.path))
    return folders, files


def _identity(folder: Path) -> tuple[int, int]:
    """The folder the path leads to, links followed: `(device, inode)`."""
    try:
        return os.stat(folder).st_dev, os.stat(folder).st_ino
    except OSError:
        return (-1, hash(str(folder)))
