"""The scikit-learn reference recipes of the text and table sections, on tfapps' own split.

The split: `export` reads the dataset through tfapps' data layer (`tfapps_internals.load_arrays`)
with the dataset, seed and `--max-examples` of the tfapps run it stands beside, so both sides
see the same test split, example for example (and the sections check its size against the
run's run.json). tfapps fits on its training split and watches its validation split for early
stopping; a scikit-learn recipe has no use for a separate validation split (gradient boosting
holds out its own share for early stopping), so it fits on the two together and never sees the
test split. The export runs in a process of its own, so that the recipes' wall time and peak
memory hold only pandas and scikit-learn (no TensorFlow).

Recipes (scikit-learn's defaults unless named):
    tfidf_lr: `TfidfVectorizer(ngram_range=(1, 2))` → `LogisticRegression(max_iter=1000)`, the
        word uni- and bigram baseline of Google's text-classification guide.
    hgb: `HistGradientBoostingClassifier()`, categorical columns as pandas categories
        (`categorical_features="from_dtype"`, its native categorical support).
    logistic: numbers median-imputed and standardized (`SimpleImputer` → `StandardScaler`),
        categories one-hot (`OneHotEncoder(handle_unknown="ignore")`), then
        `LogisticRegression(max_iter=1000)`.

Usage:
    python -m bench.baselines export sentiment rotten_tomatoes /tmp/split --seed 1
    python -m bench.baselines tfidf_lr /tmp/split      # prints one JSON line of test figures
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

LABEL = "__label__"  # the label column of an exported split (class indices)
RECIPES = ("tfidf_lr", "hgb", "logistic")


def export(task: str, dataset: str, folder: Path, seed: int, **options) -> dict:
    """Writes tfapps' split of a text or table dataset as `fit.parquet` (training and
    validation examples) and `test.parquet`, plus `split.json` (class names, column kinds,
    examples per tfapps split).

    Args:
        task: `"sentiment"` or `"table-classify"`.
        dataset: the `--dataset` of the tfapps run.
        folder: a new directory for the files.
        seed: the `--seed` of the tfapps run (local files are split with it).
        **options: `target`, `data_dir`, `max_examples`, as the tfapps run has them
            (`None`: tfapps' default).

    Returns:
        What `split.json` holds.
    """
    from bench import tfapps_internals

    config = tfapps_internals.make_config(task, seed, dataset=dataset, **options)
    arrays = tfapps_internals.load_arrays(config)
    frames = {name: _frame(*arrays.splits[name]) for name in tfapps_internals.SPLITS}
    folder.mkdir(parents=True, exist_ok=True)
    pd.concat([frames["train"], frames["validation"]]).to_parquet(folder / "fit.parquet")
    frames["test"].to_parquet(folder / "test.parquet")
    about = {
        "class_names": arrays.class_names,
        "numeric": arrays.numeric,
        "categorical": arrays.categorical,
        "sizes": arrays.sizes,
    }
    (folder / "split.json").write_text(json.dumps(about, indent=1) + "\n")
    return about


def _frame(inputs, labels: np.ndarray) -> pd.DataFrame:
    """One split as a DataFrame: a table's columns (strings decoded), or a `text` column."""
    columns = inputs if isinstance(inputs, dict) else {"text": inputs}
    decoded = {
        name: [v.decode("utf-8") for v in values] if values.dtype == object else values
        for name, values in columns.items()
    }
    return pd.DataFrame({**decoded, LABEL: labels.astype(int)})


def recipe(name: str, numeric: list[str], categorical: list[str]):
    """The scikit-learn pipeline of a recipe (`RECIPES`), unfitted.

    Args:
        name: `"tfidf_lr"` (texts in a `text` column), `"hgb"` or `"logistic"` (tables).
        numeric: a table's numeric columns.
        categorical: a table's categorical columns (strings).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    if name == "tfidf_lr":
        vectorizer = ColumnTransformer([("text", TfidfVectorizer(ngram_range=(1, 2)), "text")])
        return make_pipeline(vectorizer, LogisticRegression(max_iter=1000))
    if name == "hgb":
        as_categories = FunctionTransformer(
            lambda frame: frame.astype({c: "category" for c in categorical})
        )
        return make_pipeline(as_categories, HistGradientBoostingClassifier())
    encoded = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("categories", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    return make_pipeline(encoded, LogisticRegression(max_iter=1000))


def fit_and_score(name: str, folder: Path) -> dict:
    """Fits a recipe on an exported split's `fit.parquet` and scores it on `test.parquet`.

    Returns:
        `accuracy`, `balanced_accuracy` and `roc_auc` on test (binary: the second class's
        probability; more classes: the mean one-vs-rest AUC, as tfapps' `roc_auc_ovr`),
        `fit_seconds`, `fit_examples`, `test_examples`.
    """
    from sklearn import metrics

    about = json.loads((folder / "split.json").read_text())
    fit, test = (pd.read_parquet(folder / f"{part}.parquet") for part in ("fit", "test"))
    model = recipe(name, about["numeric"], about["categorical"])
    started = time.perf_counter()
    model.fit(fit.drop(columns=LABEL), fit[LABEL])
    fit_seconds = time.perf_counter() - started
    probabilities = model.predict_proba(test.drop(columns=LABEL))
    labels, classes = test[LABEL].to_numpy(), model.classes_
    predicted = classes[probabilities.argmax(axis=1)]
    if len(about["class_names"]) == 2:
        auc = metrics.roc_auc_score(labels, probabilities[:, 1])
    else:
        auc = metrics.roc_auc_score(labels, probabilities, multi_class="ovr", labels=classes)
    return {
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(labels, predicted)),
        "roc_auc": float(auc),
        "fit_seconds": fit_seconds,
        "fit_examples": len(fit),
        "test_examples": len(test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    exporting = commands.add_parser("export", help="write tfapps' split of a dataset")
    exporting.add_argument("task", choices=("sentiment", "table-classify"))
    exporting.add_argument("dataset")
    exporting.add_argument("folder", type=Path)
    exporting.add_argument("--seed", type=int, default=1)
    exporting.add_argument("--target")
    exporting.add_argument("--data-dir")
    exporting.add_argument("--max-examples", type=int)
    for name in RECIPES:
        commands.add_parser(name, help=f"fit the {name} recipe").add_argument("folder", type=Path)
    options = parser.parse_args()
    if options.command == "export":
        given = {"target": options.target, "data_dir": options.data_dir}
        given["max_examples"] = options.max_examples
        about = export(options.task, options.dataset, options.folder, options.seed, **given)
    else:
        about = fit_and_score(options.command, options.folder)
    print(json.dumps(about))


if __name__ == "__main__":
    main()
