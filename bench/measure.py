"""What both sides of a training benchmark share inside their own process.

A training benchmark runs one recipe (a reference script in `bench/reference/` or tfapps through
`bench/tfapps_run.py`) in a process of its own. Both read the same options, take the same
examples from tfapps' data layer, time their epochs with the same `EpochClock`, and score the
final model and every epoch's weights on the test split with the same `test_quality`, after
training. The result file holds raw figures only; `bench/figures.py` derives the table values.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.epoch_clock import EpochClock
from tfapps.config import RunConfig
from tfapps.data.info import SPLIT_NAMES
from tfapps.reports import class_probabilities

PREDICT_BATCH = 256


def parse_options(description: str, steps_per_execution: int | None) -> argparse.Namespace:
    """Parses the options every training benchmark process takes.

    Args:
        description: the script's one-line description for `--help`.
        steps_per_execution: the default of `--steps-per-execution`; `None` keeps the
            recipe's own default.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: tfapps' default)")
    parser.add_argument("--max-examples", type=int, help="cap on training examples")
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=steps_per_execution,
        help=f"training steps per call into TensorFlow (default: {steps_per_execution})",
    )
    parser.add_argument(
        "--length-batches",
        action=argparse.BooleanOptionalAction,
        help="tfapps sentiment's --length-batches; tfapps side only (default: tfapps' default)",
    )
    parser.add_argument("--dataset", help="the --dataset to train on (default: tfapps' default)")
    parser.add_argument("--data-dir", help="TFDS data directory (default: TFDS's own)")
    parser.add_argument("--scratch", required=True, help="an empty directory for this run")
    parser.add_argument("--result", required=True, help="where to write the result as JSON")
    return parser.parse_args()


def config_for(config_class: type[RunConfig], options: argparse.Namespace) -> RunConfig:
    """Returns a task config with the defaults, changed only as `options` say."""
    changes = {
        "dataset": options.dataset,
        "epochs": options.epochs,
        "max_examples": options.max_examples,
        "steps_per_execution": options.steps_per_execution,
        "length_batches": options.length_batches,
    }
    return config_class(
        seed=options.seed,
        data_dir=options.data_dir,
        output_dir=str(Path(options.scratch) / "runs"),
        quiet=True,
        **{name: value for name, value in changes.items() if value is not None},
    )


def load_arrays(
    config: RunConfig, names: tuple[str, ...] = SPLIT_NAMES
) -> tuple[dict[str, tuple[Any, np.ndarray]], Any]:
    """Returns `({split: (inputs, labels)}, info)` as NumPy arrays, from tfapps' data layer.

    Inputs are uint8 image arrays, arrays of byte strings, or dicts of column arrays.

    Args:
        config: the run's config (dataset, data directory, `max_examples`).
        names: the splits to read. Defaults to all three.
    """
    from tfapps.data.load import load_splits

    splits = load_splits(config)
    arrays = {}
    for name in names:
        dataset = getattr(splits, name)
        arrays[name] = next(iter(dataset.batch(splits.info.sizes[name]).as_numpy_iterator()))
    return arrays, splits.info


def split_folders(root: Path, scratch: Path, seed: int) -> dict[str, Path]:
    """tfapps' split of an image folder (same seed, class by class, copies of a file in one
    split: `stratified_groups`) laid out
    as folders of symbolic links, `scratch/split/<split>/<class>/`, for recipes that read
    folders; every class has a folder in every split.

    Returns:
        The folder of each split.
    """
    from tfapps.config import ImageConfig
    from tfapps.data.duplicates import GIVEN, find_duplicates
    from tfapps.data.image_scan import scan_folder
    from tfapps.data.stratify import stratified_groups

    folder = scan_folder(root)
    labels = np.array([image.label for image in folder.images])
    given = np.array([GIVEN[image.split] for image in folder.images])
    duplicates = find_duplicates([image.key for image in folder.images], labels, given)
    rows, _ = stratified_groups(labels, duplicates, seed, ImageConfig.validation_split)
    splits = {split: Path(scratch) / "split" / split for split in rows}
    for split, indices in rows.items():
        for name in folder.class_names:
            (splits[split] / name).mkdir(parents=True)
        for index in indices:
            image = folder.images[index]
            link = splits[split] / folder.class_names[image.label] / f"{index:06d}"
            link.with_suffix(image.path.suffix).symlink_to(image.path.resolve())
    return splits


def check_defaults(
    config_class: type[RunConfig], automatic: dict[str, Any] | None = None, **recipe: Any
) -> None:
    """Raises `ValueError` when a reference recipe's constant differs from tfapps' default.

    Args:
        config_class: the task's config.
        automatic: what tfapps chooses on this data for the options whose default is
            automatic (`None`), such as `tfapps.models.auto_epochs(shape)`. Defaults to none.
        **recipe: the recipe's constants, by option name.
    """
    defaults = config_class(quiet=True)

    def default(name: str) -> Any:
        value = getattr(defaults, name)
        return (automatic or {})[name] if value is None else value

    differing = {
        name: (value, default(name)) for name, value in recipe.items() if default(name) != value
    }
    if differing:
        raise ValueError(
            f"The recipe's constants differ from tfapps' defaults (recipe, tfapps): {differing}"
        )


def predict(model, inputs) -> np.ndarray:
    """Returns the model's outputs for all `inputs`, in batches of `PREDICT_BATCH`."""
    import tensorflow as tf

    batches = tf.data.Dataset.from_tensor_slices(inputs).batch(PREDICT_BATCH)
    return model.predict(batches, verbose=0)


def test_quality(task: str, labels: np.ndarray, outputs: np.ndarray) -> float:
    """The headline test figure, as run.json computes it: accuracy, or MAE for regress."""
    if task == "regress":
        return float(np.mean(np.abs(outputs[:, 0].astype(np.float64) - labels)))
    return float(np.mean(class_probabilities(outputs).argmax(axis=1) == labels))


def epoch_clock(options: argparse.Namespace) -> EpochClock:
    """The process's `EpochClock`, keeping its weight snapshots under `--scratch`."""
    return EpochClock(Path(options.scratch) / "snapshots")


def finish_reference(
    options: argparse.Namespace,
    task: str,
    clock: EpochClock,
    model,
    x_test,
    y_test: np.ndarray,
    train_examples: int,
    **facts: Any,
) -> None:
    """Ends a reference recipe right after `fit`: scores `model` and writes the result.

    Args:
        options: the process's options.
        task: the tfapps task the recipe mirrors.
        clock: the `EpochClock` that watched `fit`.
        model: the trained Keras model, taking `x_test`.
        x_test: the test inputs, as the model takes them.
        y_test: the test labels or targets.
        train_examples: training examples per epoch.
        **facts: anything else worth keeping, such as `prepare_seconds`.
    """
    write_result(
        options,
        recipe_end(),
        task,
        clock,
        model.set_weights,
        lambda: predict(model, x_test),
        y_test,
        train_examples,
        steps_per_execution=options.steps_per_execution,
        **facts,
    )


def recipe_end() -> dict[str, float]:
    """Marks the end of a recipe: returns the time and the process's peak RSS so far."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"finished_at": time.time(), "peak_rss_mb": peak_kb / 1024}


def write_result(
    options: argparse.Namespace,
    end: dict[str, float],
    task: str,
    clock: EpochClock,
    set_weights: Callable[[list[np.ndarray]], None],
    predict_test: Callable[[], np.ndarray],
    test_labels: np.ndarray,
    train_examples: int,
    **facts: Any,
) -> None:
    """Scores the final weights and each epoch's weights on the test split; writes the result.

    The evaluation happens after the recipe finished and is not part of any timing.

    Args:
        options: the process's options (`--result`, `--seed`).
        end: `recipe_end()`, called when the recipe finished; the benchmark's wall time runs
            from the process's start to that moment, and its peak RSS is the one then.
        task: `"image-classify"`, `"sentiment"` or `"regress"`.
        clock: the `EpochClock` that watched training.
        set_weights: loads one epoch's weights into the model `predict_test` uses.
        predict_test: returns the model's outputs on the test split.
        test_labels: the test split's labels or targets.
        train_examples: training examples per epoch.
        **facts: anything else worth keeping: `steps_per_execution` (required), and e.g.
            `prepare_seconds` or the run directory.
    """
    final = test_quality(task, test_labels, predict_test())
    per_epoch = []
    for weights in clock.snapshots():
        set_weights(weights)
        per_epoch.append(test_quality(task, test_labels, predict_test()))
    result = {
        "task": task,
        "seed": options.seed,
        "train_examples": train_examples,
        "epoch_seconds": clock.epoch_seconds,
        "fit_seconds": clock.fit_seconds,
        "epoch_quality": per_epoch,
        "final_quality": final,
        **end,
        **facts,
    }
    Path(options.result).write_text(json.dumps(result, indent=2) + "\n")
