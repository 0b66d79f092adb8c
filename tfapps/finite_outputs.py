"""Model outputs that are not finite numbers, and what each command does about them.

An input far outside the training data can take a model past float32's range: a regression
fitted as `log1p` predicts `expm1` of a large number (infinity), a classifier's logits
overflow into NaN probabilities. `tfapps serve` refuses such an instance (HTTP 400,
`serving_bodies.check_finite`); `tfapps predict` writes its predictions and warns, naming the
inputs (`warning`); `tfapps evaluate` refuses the split before writing anything, naming its
examples and their values (`refuse`), as it refuses infinity in a feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

SHOWN = 5  # examples a message names
WHY = "too far outside the training data for the model to compute"


def non_finite_rows(outputs: np.ndarray) -> np.ndarray:
    """The indices of the examples (the first axis) whose outputs hold NaN or infinity;
    none for outputs that are not floats."""
    import numpy as np

    if outputs.dtype.kind != "f":
        return np.zeros(0, np.int64)
    return np.flatnonzero(~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1))


def warning(names: list[str], outputs: np.ndarray) -> str | None:
    """The one-line warning about predictions that are not finite, or `None`.

    Args:
        names: one name per example, as the prediction table shows them (`rows.csv:3`).
        outputs: the model's outputs, `[examples, ...]`.
    """
    rows = non_finite_rows(outputs)
    if not rows.size:
        return None
    shown = ", ".join(f"{names[row]} ({_values(outputs[row])})" for row in rows[:SHOWN])
    more = f" and {rows.size - SHOWN:,} more" if rows.size > SHOWN else ""
    phrase = _not_finite(rows.size, len(outputs), "input")
    return (
        f"{phrase[0].upper()}{phrase[1:]} (written as is; null in JSON), the input {WHY}: "
        f"{shown}{more}"
    )


def refuse(split: str, outputs: np.ndarray, examples: tf.data.Dataset) -> None:
    """Refuses a split to score whose outputs are not all finite numbers.

    Args:
        split: the split's name (`"test"`).
        outputs: the model's outputs for the split, `[examples, ...]`, in order.
        examples: the split's unbatched `(input, label)` examples, in the same order.

    Raises:
        InvalidInput: naming how many, the first `SHOWN` examples (by their place in the
            split, counting from 1), their outputs and their values.
    """
    rows = non_finite_rows(outputs)
    if not rows.size:
        return
    shown = [
        f"{split} example {row + 1} ({_values(outputs[row])} from {_inputs(examples, row)})"
        for row in rows[:SHOWN]
    ]
    more = f" and {rows.size - SHOWN:,} more" if rows.size > SHOWN else ""
    raise InvalidInput(
        f"Cannot score the {split} split: {_not_finite(rows.size, len(outputs), 'example')}, "
        f"the input {WHY}: {'; '.join(shown)}{more}. Leave those rows out to score the others."
    )


def _not_finite(bad: int, total: int, unit: str) -> str:
    """`the model's predictions for 2 of 40 inputs are not finite numbers`."""
    if bad == 1:
        return f"the model's prediction for 1 of {total:,} {unit}s is not a finite number"
    return f"the model's predictions for {bad:,} of {total:,} {unit}s are not finite numbers"


def _values(output: np.ndarray) -> str:
    """`inf`, or `[nan, 0.25]`: each value as short as its float type writes it."""
    values = [str(value) for value in output.ravel()]
    return values[0] if len(values) == 1 else f"[{', '.join(values)}]"


def _inputs(examples: tf.data.Dataset, row: int) -> str:
    """An example's inputs as `name=value` pairs (a string, or a number, or an array's shape)."""
    inputs, _ = next(iter(examples.skip(row).take(1).as_numpy_iterator()))
    named = inputs if isinstance(inputs, dict) else {"input": inputs}
    return ", ".join(f"{name}={_shown(value)}" for name, value in named.items())


def _shown(value) -> str:
    """A value as a message shows it: a number, a text's first 40 characters, an array's
    shape."""
    if getattr(value, "size", 1) > 1:
        return f"<array {'x'.join(map(str, value.shape))}>"
    if getattr(value, "dtype", None) is not None and value.dtype.kind == "f":
        return str(value)  # as short as float32 writes it: 1e+38, not 9.999999680285692e+37
    item = value.item() if hasattr(value, "item") else value
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")[:40]
    return repr(item)
