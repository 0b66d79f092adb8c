"""What tfapps relies on that Keras keeps private, in one place.

`keras.callbacks.BackupAndRestore` documents what it does, not the files it keeps: the epoch a
resumed `fit` starts from is `{"epoch": e, "batch": b}` in `training_metadata.json` of its
`backup_dir`, and `double_checkpoint=True` keeps the previous checkpoint's copy beside it
with the suffix `.bkp` (Keras 3.15: `keras/src/callbacks/backup_and_restore.py`). tfapps
reads that epoch to list an interrupted run's finished epochs and to cut history.csv back to
it, and mends the file after a kill cut it short.

`keras.layers.TextVectorization` in `"tf_idf"` mode has no public getter for the idf weights it
adapted; its `save_own_variables` stores them under `"idf_weights"` (Keras 3.15:
`keras/src/layers/preprocessing/index_lookup.py`). tfapps reads them there to compute sparse
TF-IDF vectors and to export them beside an n-gram model.

tests/test_keras_internals.py fails when a Keras release changes any of this.

Nothing here imports Keras, so listing runs stays cheap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

BACKUP_METADATA = "training_metadata.json"  # BackupAndRestore's `_training_metadata_path`
PREVIOUS_SUFFIX = ".bkp"  # its `double_checkpoint` copy of the previous checkpoint
IDF_WEIGHTS = "idf_weights"  # TextVectorization's `save_own_variables` key for them


def checkpoint_epochs(backup_dir: Path) -> int:
    """Returns how many epochs a `BackupAndRestore` checkpoint holds: the epoch a resumed
    `fit` starts from.

    A metadata file cut short by a kill falls back to the previous checkpoint's copy.

    Args:
        backup_dir: the callback's `backup_dir`.

    Returns:
        The epochs, 0 when there is no readable checkpoint.
    """
    metadata = Path(backup_dir) / BACKUP_METADATA
    current = _epoch(metadata)
    if current is None:
        current = _epoch(metadata.with_name(metadata.name + PREVIOUS_SUFFIX))
    return current or 0


def mend_checkpoint(backup_dir: Path) -> int:
    """Rewrites a checkpoint's metadata that a kill cut short from the previous checkpoint's
    copy, since `BackupAndRestore` fails on an unreadable file.

    Args:
        backup_dir: the callback's `backup_dir`.

    Returns:
        The epochs the checkpoint holds (`checkpoint_epochs`).
    """
    metadata = Path(backup_dir) / BACKUP_METADATA
    epochs = checkpoint_epochs(backup_dir)
    if epochs and metadata.exists() and _epoch(metadata) is None:
        temp = metadata.with_name(f".{metadata.name}.tmp")
        temp.write_text(json.dumps({"epoch": epochs, "batch": 0}))
        os.replace(temp, metadata)
    return epochs


def _epoch(metadata: Path) -> int | None:
    try:
        return int(json.loads(metadata.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def idf_weights(vectorizer) -> np.ndarray:
    """The idf weight of each output column of an adapted TextVectorization layer in
    `"tf_idf"` mode, `float32 [features]` (column 0, out of vocabulary, has their mean).

    Args:
        vectorizer: the layer, adapted or given its vocabulary and weights.
    """
    import numpy as np

    store: dict = {}
    vectorizer.save_own_variables(store)
    return np.asarray(store[IDF_WEIGHTS], dtype=np.float32)
