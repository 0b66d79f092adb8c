"""What both sides of a training benchmark share inside their own process.

A training benchmark runs one recipe (a reference script in `bench/reference/` or tfapps through
`bench/tfapps_run.py`) in a process of its own. Both read the same options, take the same
examples from tfapps' data layer, time their epochs with the same `EpochClock`, and score the
final model and every epoch's weights on the test split the same way, after training. The
result file holds raw figures; `bench/figures.py` keeps the table values of them.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench import tfapps_internals
from bench.epoch_clock import EpochClock
from bench.plan import ALL_COMPARISONS

PREDICT_BATCH = 256


def parse_options(description: str, steps_per_execution: int | None) -> argparse.Namespace:
    """Parses the options of a training benchmark process; `steps_per_execution` is the
    default of `--steps-per-execution` (`None`: the recipe's own)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--comparison", required=True, choices=ALL_COMPARISONS)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: tfapps' default)")
    parser.add_argument("--max-examples", type=int, help="cap on training examples")
    parser.add_argument("--steps-per-execution", type=int, default=steps_per_execution)
    parser.add_argument(
        "--length-batches",
        action=argparse.BooleanOptionalAction,
        help="tfapps sentiment's --length-batches; tfapps side only (default: tfapps' default)",
    )
    parser.add_argument("--dataset", help="the --dataset to train on (default: tfapps' default)")
    parser.add_argument("--data-dir", help="TFDS data directory (default: TFDS's own)")
    parser.add_argument("--scratch", required=True, help="an empty directory for this run")
    parser.add_argument("--result", required=True, help="where to write the result as JSON")
    options = parser.parse_args()
    options.comparison = ALL_COMPARISONS[options.comparison]
    return options


def config_for(options: argparse.Namespace):
    """The comparison's tfapps config with the defaults, changed only as `options` say."""
    return tfapps_internals.make_config(
        options.comparison.task,
        options.seed,
        dataset=options.dataset,
        epochs=options.epochs,
        max_examples=options.max_examples,
        steps_per_execution=options.steps_per_execution,
        length_batches=options.length_batches,
        data_dir=options.data_dir,
        output_dir=str(Path(options.scratch) / "runs"),
    )


def check_defaults(options: argparse.Namespace, data: tfapps_internals.Arrays, **recipe) -> None:
    """Raises `ValueError` when a reference recipe's constant differs from tfapps' default on
    this data (automatic defaults as tfapps picks them)."""
    defaults = tfapps_internals.defaults(options.comparison.task, data)
    differing = {key: (value, defaults[key]) for key, value in recipe.items()}
    differing = {key: pair for key, pair in differing.items() if pair[0] != pair[1]}
    if differing:
        raise ValueError(f"Recipe constants unlike tfapps' defaults (recipe, tfapps): {differing}")


def predict(model, inputs) -> np.ndarray:
    """Returns the model's outputs for all `inputs`, in batches of `PREDICT_BATCH`."""
    import tensorflow as tf

    return model.predict(tf.data.Dataset.from_tensor_slices(inputs).batch(PREDICT_BATCH), verbose=0)


def test_quality(metric: str, labels: np.ndarray, outputs: np.ndarray) -> float:
    """The headline test figure, as run.json computes it: accuracy, or MAE."""
    if metric == "mae":
        return float(np.mean(np.abs(outputs[:, 0].astype(np.float64) - labels)))
    return float(np.mean(tfapps_internals.class_probabilities(outputs).argmax(axis=1) == labels))


def epoch_clock(options: argparse.Namespace) -> EpochClock:
    """The process's `EpochClock`, keeping its weight snapshots under `--scratch`."""
    return EpochClock(Path(options.scratch) / "snapshots")


def fit_arrays(options: argparse.Namespace, model, loss: str, data, recipe: dict, **facts) -> None:
    """The classic recipe on arrays: `compile` with Adam, `fit(x, y)` with Keras' defaults and
    early stopping on the validation loss (best weights restored); then `write_result`.

    Args:
        options: the process's options.
        model: the model, taking the arrays' inputs.
        loss: the Keras loss.
        data: `(x, y)` of the train, validation and test splits, in that order.
        recipe: the constants `batch_size`, `epochs`, `patience`, `start_from_epoch` and
            `learning_rate`.
        **facts: anything else worth keeping, such as `prepare_seconds`.
    """
    import keras

    (x_train, y_train), validation, (x_test, y_test) = data
    model.compile(
        optimizer=keras.optimizers.Adam(recipe["learning_rate"]),
        loss=loss,
        metrics=[] if options.comparison.metric == "mae" else ["accuracy"],
        steps_per_execution=options.steps_per_execution,
    )
    stopping = keras.callbacks.EarlyStopping(
        patience=recipe["patience"],
        start_from_epoch=recipe["start_from_epoch"],
        restore_best_weights=True,
    )
    clock = epoch_clock(options)
    epochs = options.epochs or recipe["epochs"]
    model.fit(
        x_train,
        y_train,
        batch_size=recipe["batch_size"],
        epochs=epochs,
        validation_data=validation,
        callbacks=[stopping, clock],
        verbose=0,
    )
    end = recipe_end()
    scores = (clock, model.set_weights, lambda: predict(model, x_test), y_test, len(x_train))
    write_result(options, end, *scores, steps_per_execution=options.steps_per_execution, **facts)


def recipe_end() -> dict[str, float]:
    """Marks the end of a recipe: returns the time and the process's peak RSS so far."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"finished_at": time.time(), "peak_rss_mb": peak_kb / 1024}


def write_result(
    options: argparse.Namespace,
    end: dict[str, float],
    clock: EpochClock,
    set_weights: Callable[[list[np.ndarray]], None],
    predict_test: Callable[[], np.ndarray],
    test_labels: np.ndarray,
    train_examples: int,
    **facts,
) -> None:
    """Scores the final weights and each epoch's weights on the test split, after the recipe
    and outside any timing, and writes the result to `--result`.

    Args:
        options: the process's options.
        end: `recipe_end()` when the recipe finished: the benchmark's wall time runs from the
            process's start to then, and its peak RSS is the one then.
        clock: the `EpochClock` that watched training.
        set_weights: loads one epoch's weights into the model `predict_test` uses.
        predict_test: returns the model's outputs on the test split.
        test_labels: the test split's labels or targets.
        train_examples: training examples per epoch.
        **facts: `steps_per_execution` (required) and anything else worth keeping.
    """
    metric = options.comparison.metric
    final = test_quality(metric, test_labels, predict_test())
    per_epoch = []
    for weights in clock.snapshots():
        set_weights(weights)
        per_epoch.append(test_quality(metric, test_labels, predict_test()))
    result = {
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
