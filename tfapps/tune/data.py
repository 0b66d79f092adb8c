"""The data a search's trials read: the train and validation splits, saved once by the search
(`tf.data.Dataset.save`) with the dataset's facts, and with `--folds` the fold of each
example of train + validation. The test split is never saved, so no trial can read it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfapps.data.info import DatasetInfo
from tfapps.data.splits import Splits
from tfapps.errors import InvalidInput
from tfapps.pipeline import untuned

SAVED_SPLITS = ("train", "validation")
INFO_JSON, FOLDS_NPY, INPUTS_JSON = "info.json", "folds.npy", "inputs.json"


def save_search_data(
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    info: DatasetInfo,
    directory: Path,
    folds: np.ndarray | None = None,
) -> None:
    """Saves what the trials read, once (a resumed search finds it in place).

    Args:
        train: the training split.
        validation: the validation split.
        info: the dataset's facts.
        directory: where to save (created).
        folds: with `--folds`, the fold of each example of train + validation, in that
            order (`fold_of_each`). Defaults to none.
    """
    if (directory / INFO_JSON).is_file():
        return
    temp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    for name, split in zip(SAVED_SPLITS, (train, validation), strict=True):
        split.save(str(temp / name))
    if folds is not None:
        np.save(temp / FOLDS_NPY, folds)
    inputs = train.element_spec[0]
    (temp / INPUTS_JSON).write_text(json.dumps(list(inputs) if isinstance(inputs, dict) else None))
    (temp / INFO_JSON).write_text(json.dumps(info.to_dict(), indent=2))
    os.replace(temp, directory)


def pool_labels(train: tf.data.Dataset, validation: tf.data.Dataset) -> np.ndarray:
    """The labels of train + validation, in that order."""
    pool = train.concatenate(validation)
    return np.fromiter(pool.map(lambda _, label: label).as_numpy_iterator(), np.float64)


def fold_of_each(labels: np.ndarray, folds: int, stratified: bool, seed: int) -> np.ndarray:
    """The fold (0 to `folds` - 1) of each example, class by class when `stratified`
    (scikit-learn's `StratifiedKFold`, else `KFold`), shuffled with `seed`.

    Raises:
        InvalidInput: more folds than examples, or (stratified) than a class has.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    smallest = np.unique(labels, return_counts=True)[1].min() if stratified else len(labels)
    if folds > smallest:
        what = "examples in the smallest class" if stratified else "examples"
        raise InvalidInput(
            f"Invalid value for --folds: expected at most {smallest}, the {what} of train + "
            f"validation. Received: {folds}"
        )
    splitter = (StratifiedKFold if stratified else KFold)(folds, shuffle=True, random_state=seed)
    assignment = np.empty(len(labels), np.int64)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assignment[held_out] = fold
    return assignment


def load_search_splits(directory: Path) -> list[Splits]:
    """The splits each training of a trial reads: train and validation, or with folds one
    `Splits` per fold (the fold held out as validation). None has a test split.

    Args:
        directory: what `save_search_data` wrote.
    """
    info = DatasetInfo.from_dict(json.loads((directory / INFO_JSON).read_text()))
    order = json.loads((directory / INPUTS_JSON).read_text())
    train, validation = (_load(directory / split, order) for split in SAVED_SPLITS)
    if not (directory / FOLDS_NPY).is_file():
        return [Splits(train, validation, None, info)]
    folds = np.load(directory / FOLDS_NPY)
    pool = train.concatenate(validation)
    return [_fold(pool, folds, fold, info) for fold in range(int(folds.max()) + 1)]


def _load(path: Path, order: list[str] | None) -> tf.data.Dataset:
    """A saved split, its named inputs in their order when saved: `Dataset.load` gives a
    dict of inputs in another order, and a table model concatenates its columns in the
    order it is given them (the same model would train to other numbers)."""
    dataset = tf.data.Dataset.load(str(path))
    if order is not None:
        dataset = dataset.map(lambda inputs, label: ({k: inputs[k] for k in order}, label))
    return untuned(dataset)


def _fold(pool: tf.data.Dataset, folds: np.ndarray, fold: int, info: DatasetInfo) -> Splits:
    assignment = tf.constant(folds)

    sizes = {"train": int((folds != fold).sum()), "validation": int((folds == fold).sum())}

    def part(held_out: bool) -> tf.data.Dataset:
        chosen = pool.enumerate().filter(
            lambda index, _: tf.equal(tf.gather(assignment, index) == fold, held_out)
        )
        count = sizes["validation" if held_out else "train"]
        examples = chosen.map(lambda _, example: example)
        return examples.apply(tf.data.experimental.assert_cardinality(count))

    info = dataclasses.replace(info, sizes=sizes)
    return Splits(part(held_out=False), part(held_out=True), None, info)
