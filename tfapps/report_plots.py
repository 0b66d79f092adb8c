"""The plots of a run's report, PNGs drawn with matplotlib on its Agg backend: learning
curves, the confusion matrix, predicted-vs-true and residuals (`tfapps.reports` writes them
into the run directory).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

SHOWN_CLASSES = 30  # classes a confusion-matrix figure shows, the others added up in one
CELL_COUNT_CLASSES = 20  # past this many rows, the figure's cells carry no counts
FIGURE_INCHES = 16.0  # the largest side of a confusion-matrix figure


def plot_regression(targets: np.ndarray, predictions: np.ndarray, folder: Path) -> None:
    """Draws predicted_vs_true.png (with the identity line) and residuals.png."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(targets, predictions, s=14, alpha=0.7)
    low, high = (
        float(min(targets.min(), predictions.min())),
        float(max(targets.max(), predictions.max())),
    )
    axis.plot([low, high], [low, high], color="gray", linestyle="--", label="perfect")
    axis.set(title="Predicted vs true", xlabel="true", ylabel="predicted")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "predicted_vs_true.png", dpi=100)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 4))
    axis.scatter(predictions, predictions - targets, s=14, alpha=0.7)
    axis.axhline(0, color="gray", linestyle="--")
    axis.set(title="Residuals", xlabel="predicted", ylabel="predicted − true")
    figure.tight_layout()
    figure.savefig(folder / "residuals.png", dpi=100)
    plt.close(figure)


def plot_learning_curves(history: pd.DataFrame, path: Path) -> None:
    """Draws one panel per metric (loss first), training against validation, by epoch."""
    plt = pyplot()
    names = [c for c in history.columns if f"val_{c}" in history.columns]
    names.sort(key=lambda name: name != "loss")
    epochs = history["epoch"] + 1
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        axis.plot(epochs, history[name], marker="o", label="train")
        axis.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        axis.set(title=name, xlabel="epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_confusion_matrix(confusion: pd.DataFrame, path: Path) -> None:
    """Draws the confusion matrix (rows true, columns predicted), with counts in the cells up to
    `CELL_COUNT_CLASSES` classes.

    Past `SHOWN_CLASSES` classes, the figure shows the most frequent ones (by true examples)
    and one row and column that add up the others, so its size, time and memory do not grow
    with the classes (300 classes drawn whole took 6.7 GB and two minutes); the whole matrix
    is in confusion_matrix.csv.

    Args:
        confusion: counts, rows the true classes and columns the predicted ones, in class
            order (as confusion_matrix.csv).
        path: the PNG file to write.
    """
    plt = pyplot()
    shown = _most_frequent_classes(confusion, SHOWN_CLASSES)
    cells = shown.to_numpy()
    grouped = len(shown) < len(confusion)
    # The colours span the shown classes' cells: the others' own block would wash them out.
    scale = np.delete(cells.ravel(), -1) if grouped else cells
    size = min(FIGURE_INCHES, max(4.0, 0.5 * len(shown) + 2))
    figure, axis = plt.subplots(figsize=(size + 1, size))
    skm.ConfusionMatrixDisplay(cells, display_labels=list(shown.columns)).plot(
        ax=axis,
        colorbar=True,
        cmap="Blues",
        include_values=len(shown) <= CELL_COUNT_CLASSES,
        values_format="d",
        xticks_rotation=45 if len(shown) > 6 else "horizontal",
        im_kw={"vmin": 0, "vmax": max(1, int(scale.max()))},
    )
    title = "Confusion matrix"
    if grouped:
        title += (
            f": the {len(shown) - 1} most frequent of {len(confusion):,} classes\n"
            "(the others added up; all of them in confusion_matrix.csv)"
        )
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _most_frequent_classes(confusion: pd.DataFrame, count: int) -> pd.DataFrame:
    """The confusion of the `count` classes with the most true examples (in class order),
    plus a row and a column adding up the other classes; the whole matrix when it has no
    more than `count + 1` classes."""
    if len(confusion) <= count + 1:
        return confusion
    support = confusion.sum(axis=1).to_numpy()
    kept = np.sort(np.argsort(-support, kind="stable")[:count])
    others = np.setdiff1d(np.arange(len(confusion)), kept)
    matrix = confusion.to_numpy()
    label = f"{len(others):,} others"
    block = np.block(
        [
            [matrix[np.ix_(kept, kept)], matrix[np.ix_(kept, others)].sum(1, keepdims=True)],
            [
                matrix[np.ix_(others, kept)].sum(0, keepdims=True),
                matrix[np.ix_(others, others)].sum(),
            ],
        ]
    )
    names = [*confusion.columns[kept], label]
    return pd.DataFrame(block, index=pd.Index(names, name="true"), columns=names)


def pyplot():
    """Returns matplotlib.pyplot on the non-interactive Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
