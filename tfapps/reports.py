"""Tables and plots a person reads: metrics, confusion matrix, per-class scores, predictions.

Every table is a pandas DataFrame written as CSV; plots are PNGs (drawn in `report_plots`).
Metric names follow Keras and scikit-learn: loss, accuracy, f1_macro, ...
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from tfapps import runs
from tfapps.report_plots import plot_confusion_matrix, plot_learning_curves, plot_regression

HEADLINE_SPLIT = "test"


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Turns a single sigmoid column into two class columns; softmax outputs pass through."""
    return np.hstack([1 - outputs, outputs]) if outputs.shape[1] == 1 else outputs


def classification_metrics(split: str, labels: np.ndarray, probabilities: np.ndarray) -> list[dict]:
    """Returns `(split, metric, value)` rows for a classifier.

    Always loss (cross-entropy), accuracy, balanced_accuracy (the mean recall over the classes
    present, which a model that ignores a rare class cannot score well on), precision_macro,
    recall_macro and f1_macro; for two classes also precision, recall and f1 of the second
    (positive) class, and roc_auc; for more, roc_auc_ovr (the mean of each class's ROC AUC
    against the rest, as scikit-learn's scorer of that name), when every class is present.

    Args:
        split: the split name recorded in each row.
        labels: true label indices, shape `[n]`.
        probabilities: predicted class probabilities, shape `[n, num_classes]`.
    """
    predicted = probabilities.argmax(axis=1)
    classes = np.arange(probabilities.shape[1])
    values = {
        "loss": skm.log_loss(labels, probabilities, labels=classes),
        "accuracy": skm.accuracy_score(labels, predicted),
        "balanced_accuracy": _balanced_accuracy(labels, predicted),
    }
    for average, suffix in [("macro", "_macro")] + ([("binary", "")] if len(classes) == 2 else []):
        precision, recall, f1, _ = skm.precision_recall_fscore_support(
            labels, predicted, labels=classes, average=average, zero_division=0
        )
        values.update({f"precision{suffix}": precision, f"recall{suffix}": recall})
        values[f"f1{suffix}"] = f1
    if len(classes) == 2 and len(np.unique(labels)) == 2:
        values["roc_auc"] = skm.roc_auc_score(labels, probabilities[:, 1])
    elif len(classes) > 2 and len(np.unique(labels)) == len(classes):
        values["roc_auc_ovr"] = skm.roc_auc_score(
            labels, probabilities, multi_class="ovr", labels=classes
        )
    return [
        {"split": split, "metric": name, "value": float(value)} for name, value in values.items()
    ]


def _balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    with warnings.catch_warnings():  # a class predicted but absent from labels is fine here
        warnings.simplefilter("ignore", UserWarning)
        return skm.balanced_accuracy_score(labels, predicted)


def write_classification_report(
    run_dir: Path,
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: list[str],
    test_inputs: Mapping[str, list] | None = None,
    probability_columns: bool = False,
) -> pd.DataFrame:
    """Writes metrics.csv, confusion_matrix.csv, per_class.csv, predictions.csv and the
    confusion-matrix plot.

    Args:
        run_dir: the (temporary) run directory, or an evaluation's.
        results: per split (`"validation"`, `"test"`), `(labels, probabilities)`; the last
            split feeds the confusion matrix, the per-class table and predictions.csv.
        class_names: names of the classes in label-index order.
        test_inputs: columns describing each test example (e.g. a text preview), placed
            after the index in predictions.csv. Defaults to none.
        probability_columns: predictions.csv also holds each class's probability, in
            columns `probability_<class>` after `correct`. Defaults to False.

    Returns:
        The metrics table.
    """
    metrics = pd.DataFrame(
        [
            row
            for split, (labels, probabilities) in results.items()
            for row in classification_metrics(split, labels, probabilities)
        ]
    )
    metrics.to_csv(run_dir / runs.METRICS_CSV, index=False)

    labels, probabilities = list(results.values())[-1]
    predicted = probabilities.argmax(axis=1)
    classes = np.arange(len(class_names))
    confusion = pd.DataFrame(
        skm.confusion_matrix(labels, predicted, labels=classes),
        index=pd.Index(class_names, name="true"),
        columns=class_names,
    )
    confusion.to_csv(run_dir / runs.CONFUSION_MATRIX_CSV)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0
    )
    pd.DataFrame(
        {
            "class": class_names,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    ).to_csv(run_dir / runs.PER_CLASS_CSV, index=False)
    names = np.asarray(class_names, dtype=object)
    pd.DataFrame(
        {
            "index": np.arange(len(labels)),
            **(test_inputs or {}),
            "target": names[labels],
            "prediction": names[predicted],
            "probability": probabilities[np.arange(len(labels)), predicted],
            "correct": labels == predicted,
            **(
                {f"probability_{name}": probabilities[:, i] for i, name in enumerate(class_names)}
                if probability_columns
                else {}
            ),
        }
    ).to_csv(run_dir / runs.PREDICTIONS_CSV, index=False)

    plots = run_dir / runs.PLOTS_DIR
    plots.mkdir(exist_ok=True)
    plot_confusion_matrix(confusion, plots / "confusion_matrix.png")
    return metrics


def regression_metrics(
    split: str, targets: np.ndarray, predictions: np.ndarray, baselines: Mapping[str, float]
) -> list[dict]:
    """Returns `(split, metric, value)` rows: mae, rmse, r2, mape (in percent, as Keras reports
    it), mdape (the median absolute percentage error, in percent, over targets other than 0:
    the error on a typical row, which r2 can hide on a target spanning orders of magnitude),
    and for each baseline the MAE of always predicting it.

    Args:
        split: the split name recorded in each row.
        targets: the true values, `[n]`.
        predictions: the model's, `[n]`.
        baselines: metric name to the constant it predicts, such as `{"baseline_mae":
            training mean, "median_baseline_mae": training median}`.
    """
    nonzero = targets != 0
    relative = np.abs(predictions - targets)[nonzero] / np.abs(targets[nonzero])
    values = {
        "mae": skm.mean_absolute_error(targets, predictions),
        "rmse": skm.root_mean_squared_error(targets, predictions),
        "r2": skm.r2_score(targets, predictions) if len(targets) > 1 else float("nan"),
        "mape": 100 * skm.mean_absolute_percentage_error(targets, predictions),
        "mdape": 100 * float(np.median(relative)) if relative.size else float("nan"),
    }
    for name, constant in baselines.items():
        values[name] = skm.mean_absolute_error(targets, np.full_like(targets, constant))
    return [{"split": split, "metric": name, "value": float(v)} for name, v in values.items()]


def write_regression_report(
    run_dir: Path,
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    baselines: Mapping[str, float],
) -> pd.DataFrame:
    """Writes metrics.csv, predictions.csv and the predicted-vs-true and residual plots.

    Args:
        run_dir: the (temporary) run directory, or an evaluation's.
        results: per split (`"validation"`, `"test"`), `(targets, predictions)`; the last
            split feeds predictions.csv and the plots.
        baselines: metric name to the constant prediction the model must beat
            (`regression_metrics`).

    Returns:
        The metrics table.
    """
    metrics = pd.DataFrame(
        [
            row
            for split, (targets, predictions) in results.items()
            for row in regression_metrics(split, targets, predictions, baselines)
        ]
    )
    metrics.to_csv(run_dir / runs.METRICS_CSV, index=False)
    targets, predictions = list(results.values())[-1]
    pd.DataFrame(
        {
            "index": np.arange(len(targets)),
            "target": targets,
            "prediction": predictions,
            "error": predictions - targets,
        }
    ).to_csv(run_dir / runs.PREDICTIONS_CSV, index=False)
    plots = run_dir / runs.PLOTS_DIR
    plots.mkdir(exist_ok=True)
    plot_regression(targets, predictions, plots)
    return metrics


def headline(metrics: pd.DataFrame, metric: str) -> dict:
    """Returns `{"split", "metric", "value"}` of the test metric a summary row shows."""
    row = metrics[(metrics["split"] == HEADLINE_SPLIT) & (metrics["metric"] == metric)]
    return {"split": HEADLINE_SPLIT, "metric": metric, "value": float(row["value"].iloc[0])}


def write_learning_curves(history: pd.DataFrame, run_dir: Path) -> None:
    """Draws plots/learning_curves.png from a run's history (nothing when no epoch ran).

    Args:
        history: history.csv's rows, one per epoch.
        run_dir: the (temporary) run directory.
    """
    if len(history):
        plots = run_dir / runs.PLOTS_DIR
        plots.mkdir(exist_ok=True)
        plot_learning_curves(history, plots / "learning_curves.png")
