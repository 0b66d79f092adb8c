"""The bench's one door into tfapps beyond its command line.

Every other bench module runs tfapps as a command, or through this module: its config
classes and defaults, its data layer (so the reference recipes train on the same examples),
`tfapps.api.train`, and what a run directory records. When tfapps' modules move, this is the
file to adapt. Nothing here imports TensorFlow until a function needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SPLITS = ("train", "validation", "test")


@dataclass
class Arrays:
    """A dataset as tfapps' data layer reads it, as NumPy arrays.

    Args:
        splits: `{split: (inputs, labels)}`; inputs are uint8 images `[n, H, W, C]`, byte
            strings `[n]` or a dict of column arrays, labels int class indices or float targets.
        sizes: examples per split.
        input_shape: one image's shape (images only).
        class_names: label names in label-index order (classifiers only).
        numeric: a table's numeric input columns (tables only).
        categorical: a table's categorical input columns (tables only).
    """

    splits: dict[str, tuple[Any, np.ndarray]]
    sizes: dict[str, int]
    input_shape: tuple[int, ...] | None = None
    class_names: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)


def make_config(task: str, seed: int = 1, **options: Any):
    """The task's config with tfapps' defaults, `quiet`, changed only by the `options` that
    are not `None` (such as `dataset`, `epochs`, `max_examples`, `output_dir`)."""
    from tfapps.tasks import get_task

    given = {name: value for name, value in options.items() if value is not None}
    return get_task(task).config_class(seed=seed, quiet=True, **given)


def load_arrays(config, names: tuple[str, ...] = SPLITS) -> Arrays:
    """Reads the splits `names` of `config`'s dataset through tfapps' data layer; a table's
    missing numbers (NaN, which tfapps' model replaces by the training median) are the
    training medians already, as a recipe without tfapps would impute them."""
    from tfapps.data.load import load_splits

    splits = load_splits(config)
    info = splits.info
    arrays = {
        name: next(iter(getattr(splits, name).batch(info.sizes[name]).as_numpy_iterator()))
        for name in names
    }
    columns = getattr(info.spec, "columns", [])
    for inputs, _ in arrays.values():
        for column in columns:
            if column.kind == "numeric":
                values = inputs[column.input]
                inputs[column.input] = np.where(np.isnan(values), column.median, values)
    shape = getattr(info.spec, "input_shape", None)
    return Arrays(
        arrays,
        dict(info.sizes),
        tuple(shape) if shape else None,
        list(info.class_names),
        [c.input for c in columns if c.kind == "numeric"],
        [c.input for c in columns if c.kind == "categorical"],
    )


def prepare_datasets(args: list[str]) -> None:
    """Prepares embedded datasets in the data directory `args[0]`: each of `args[1:]` is a
    task (its default dataset) or `TASK=DATASET`."""
    data_dir, *wanted = args
    for item in wanted:
        task, _, dataset = item.partition("=")
        load_arrays(make_config(task, data_dir=data_dir, dataset=dataset or None), ())


def defaults(task: str, arrays: Arrays) -> dict[str, Any]:
    """tfapps' default options of `task`, the automatic ones (`None`, `"auto"`) as tfapps
    picks them on `arrays`' training split."""
    import dataclasses

    values = dataclasses.asdict(make_config(task))
    if arrays.input_shape is not None:
        from tfapps.tasks import image_model

        values["epochs"] = values["epochs"] or image_model.auto_epochs(arrays.input_shape)
        values["filters"] = values["filters"] or image_model.auto_filters(arrays.input_shape)
    if "sequence_length" in values:
        import tensorflow as tf

        from tfapps.tasks import text_model
        from tfapps.tasks.text_standardization import count_tokens

        texts = tf.data.Dataset.from_tensor_slices(arrays.splits["train"][0]).batch(1024)
        counts = count_tokens(texts).per_text
        long_tokens = float(np.quantile(counts, 0.99))
        values["sequence_length"] = values["sequence_length"] or text_model.auto_sequence_length(
            long_tokens
        )
        if values["conv_layout"] == "auto":
            values["conv_layout"] = text_model.auto_conv_layout(float(np.median(counts)))
    return values


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """A classifier's outputs `[n, classes]` as tfapps scores them (one sigmoid column → two)."""
    from tfapps.reports import class_probabilities

    return class_probabilities(outputs)


def split_folders(root: Path, scratch: Path, seed: int) -> dict[str, Path]:
    """tfapps' split of an image folder (same seed, class by class, the copies of a file in
    one split) laid out as folders of symbolic links, `scratch/split/<split>/<class>/`, for
    recipes that read folders; every class has a folder in every split.

    Returns:
        The folder of each split.
    """
    from tfapps.data.duplicates import GIVEN, find_duplicates
    from tfapps.data.image_scan import scan_folder
    from tfapps.data.stratify import stratified_groups

    folder = scan_folder(root)
    labels = np.array([image.label for image in folder.images])
    given = np.array([GIVEN[image.split] for image in folder.images])
    duplicates = find_duplicates([image.key for image in folder.images], labels, given)
    held_out = make_config("image-classify").validation_split
    rows, _ = stratified_groups(labels, duplicates, seed, held_out)
    splits = {split: Path(scratch) / "split" / split for split in rows}
    for split, indices in rows.items():
        for name in folder.class_names:
            (splits[split] / name).mkdir(parents=True)
        for index in indices:
            image = folder.images[index]
            link = splits[split] / folder.class_names[image.label] / f"{index:06d}"
            link.with_suffix(image.path.suffix).symlink_to(image.path.resolve())
    return splits


def import_table_reader() -> None:
    """Imports what reading a table takes (TensorFlow included), so that a timed read that
    follows pays for none of it."""
    import tfapps.data.tables  # noqa: F401
    import tfapps.tasks.table_regression  # noqa: F401


def read_table(path: Path, target: str, max_examples: int | None = None) -> dict[str, int]:
    """Reads a CSV as `tfapps regress --dataset PATH --target TARGET [--max-examples N]`
    does, to its three tf.data splits; returns the examples of each split."""
    from tfapps.data.splits import cap_and_check_splits
    from tfapps.tasks import get_task

    config = make_config("regress", dataset=str(path), target=target, max_examples=max_examples)
    splits = get_task("regress").read_path(Path(path), config)
    return cap_and_check_splits(splits, max_examples).info.sizes


def train(config, callbacks: list) -> tuple[Path, Any]:
    """Runs the whole command through `tfapps.api.train` with extra Keras `callbacks`.

    Returns:
        `(run directory, the serving model, which takes raw input)`.
    """
    from tfapps.api import train

    result = train(config, callbacks=callbacks)
    return result.run_dir, result.model


def run_facts(run_dir: Path) -> dict[str, Any]:
    """What a run directory's run.json and metrics.csv say: `task`, `quality` (the headline
    test figure) and `metric` (its name), `metrics` (`{split: {metric: value}}`; a tuned
    run's validation figures are its best trial's), `sizes` (examples per split), `epochs`,
    `train_seconds`, `trials` and `trial_peak_rss_mb` (each trial's peak resident MB, in
    trial order; `tfapps tune` only), and as trained `steps_per_execution`,
    `architecture`, `backbone`, `conv_layout`, `sequence_length` (`None` where the task has
    none)."""
    import pandas as pd

    record = json.loads((Path(run_dir) / "run.json").read_text())
    training = record["training"]
    table = pd.read_csv(Path(run_dir) / "metrics.csv")
    metrics = {
        split: dict(zip(rows.metric, rows.value, strict=True))
        for split, rows in table.groupby("split")
    }
    keys = ("steps_per_execution", "architecture", "conv_layout", "sequence_length")
    trials_csv = Path(run_dir) / "trials.csv"
    peaks = pd.read_csv(trials_csv)["peak_rss_mb"].tolist() if trials_csv.is_file() else None
    return {
        "task": record["task"],
        "quality": record["headline"]["value"],
        "metric": record["headline"]["metric"],
        "metrics": metrics,
        "sizes": record["dataset"]["sizes"],
        "epochs": training["epochs_run"],
        "train_seconds": record["timings"]["train_seconds"],
        "trials": (record.get("tune") or {}).get("trials"),
        "trial_peak_rss_mb": peaks,
        "backbone": record["dataset"]["spec"].get("backbone"),
        **{key: training.get(key) for key in keys},
    }


def serving_batch(run_dir: Path) -> tuple[Any, dict[str, np.ndarray]]:
    """The `serving_default` signature of a run's SavedModel, loaded as a user without tfapps
    would, and one batch of `tfapps predict`'s size of raw test inputs for it (a test split
    smaller than that is repeated)."""
    import tensorflow as tf

    from tfapps.predict import BATCH_SIZE
    from tfapps.tasks import config_from_dict

    record = json.loads((Path(run_dir) / "run.json").read_text())
    inputs, _ = load_arrays(config_from_dict(record["config"]), ("test",)).splits["test"]
    saved = tf.saved_model.load(str(Path(run_dir) / "saved_model"))
    signature = saved.signatures["serving_default"]
    if not isinstance(inputs, dict):
        inputs = {next(iter(signature.structured_input_signature[1])): inputs}
    batch = {
        name: tf.constant(np.resize(values, (BATCH_SIZE, *values.shape[1:])))
        for name, values in inputs.items()
    }
    return signature, batch


def example_request(run_dir: Path) -> tuple[str, dict]:
    """The model name `tfapps serve` gives a run, and one example a user of its task would
    send to `:predict`: a PNG image, a review, or a table row."""
    record = json.loads((Path(run_dir) / "run.json").read_text())
    spec = record["dataset"]["spec"]
    columns = spec.get("columns")
    if columns:
        row = {c["input"]: c.get("median", 1.0) for c in columns}
        row.update({c["input"]: "" for c in columns if c["kind"] == "categorical"})
        return record["task"], {"instances": [row]}
    if "input_shape" not in spec:
        return record["task"], {"instances": ["A wonderful film, though the ending drags."]}
    import base64
    import io

    from PIL import Image

    height, width, channels = spec["input_shape"]
    pixels = np.random.default_rng(0).integers(0, 255, (height, width), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels).convert("L" if channels == 1 else "RGB").save(png, "PNG")
    return record["task"], {"instances": [{"b64": base64.b64encode(png.getvalue()).decode()}]}


def auto_mpg_training_rows():
    """The cars of tfapps' embedded auto_mpg training split (fixed seed 0, 80/20) that have a
    target, as a pandas DataFrame of the `vega_datasets` table (model year as a number)."""
    from vega_datasets import local_data

    from tfapps.data import auto_mpg
    from tfapps.data.fixed_splits import fixed_split

    table = local_data.cars().drop(columns=["Name"])
    table["Year"] = table["Year"].dt.year.astype(float)
    train = table.iloc[fixed_split(len(table), {"train": 0.8, "test": 0.2})["train"]]
    return train.dropna(subset=[auto_mpg.TARGET])


def fit_regressor(fit, validation, scored, seed: int, **stopping: int) -> tuple[float, int]:
    """Trains tfapps' regressor on Auto MPG rows as `tfapps regress` does, without a run
    directory: the same model, loss, optimizer, batches (reshuffled every epoch), missing
    horsepower imputed from `fit`, and its training loop (`training.fit`: early stopping on
    `validation`, best weights restored).

    Args:
        fit: the rows to train on (a DataFrame of `auto_mpg_training_rows`).
        validation: the rows early stopping watches.
        scored: the rows to score.
        seed: the random seed of the run.
        **stopping: `epochs`, `patience` and `start_from_epoch`, in place of the defaults.

    Returns:
        `(MAE on scored, epochs run)`.
    """
    import dataclasses

    import keras
    import tensorflow as tf
    from sklearn.metrics import mean_absolute_error

    from tfapps import pipeline, training
    from tfapps.data import auto_mpg
    from tfapps.tasks.table_model import build_regressor
    from tfapps.tasks.table_regression import LOSSES as REGRESSION_LOSSES

    config = dataclasses.replace(make_config("regress", seed), **stopping)
    horsepower = fit["Horsepower"].median()
    names = [c for c in auto_mpg.NUMERIC if c != auto_mpg.TARGET]

    def columns(frame) -> dict[str, np.ndarray]:
        frame = frame.fillna({"Horsepower": horsepower})
        return {
            **{c: frame[c].to_numpy("float32") for c in names},
            "Origin": frame["Origin"].to_numpy(object),
        }

    def batches(frame, shuffle_seed: int | None = None):
        targets = frame[auto_mpg.TARGET].to_numpy("float32")
        examples = tf.data.Dataset.from_tensor_slices((columns(frame), targets))
        return pipeline.batched(examples, config.batch_size, shuffle_seed=shuffle_seed)

    keras.utils.set_random_seed(seed)
    model = build_regressor(columns(fit), categorical=["Origin"], hidden_units=config.hidden_units)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=REGRESSION_LOSSES[config.loss],
        # what `tfapps regress` picks for this model when left automatic (its run.json says 32);
        # steps per call leave the arithmetic unchanged (tests/test_training_replay.py)
        steps_per_execution=config.steps_per_execution or 32,
    )
    history = training.fit(model, batches(fit, seed), batches(validation), config, run_dir=None)
    predictions = model.predict(batches(scored), verbose=0)
    mae = float(mean_absolute_error(scored[auto_mpg.TARGET], predictions))
    return mae, len(history.history["loss"])
