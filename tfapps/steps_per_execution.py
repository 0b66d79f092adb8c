"""How many training steps each call into TensorFlow runs (`steps_per_execution`), estimated
from a model's size so that a call takes about a second: more steps cut Python's per-step
overhead, fewer let progress and Ctrl-C show promptly. The estimate is not a measurement, so
the same run always makes the same choice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import keras
import numpy as np

if TYPE_CHECKING:
    from tfapps.tasks import TaskModel

STEP_CALL_SECONDS = 1.0
MAX_STEPS_PER_EXECUTION = 32
MULTIPLY_ADDS_PER_SECOND = 1e11
GPU_SPEED_UP = 100


def auto_steps_per_execution(task_model: TaskModel, batch: int, gpu: bool = False) -> int:
    """Training steps per call into TensorFlow such that a call takes about
    `STEP_CALL_SECONDS` (at most `MAX_STEPS_PER_EXECUTION`): more steps cut Python's per-step
    overhead, fewer let progress and Ctrl-C show within about a second.

    The time of a step is estimated, not measured, so the same run always gets the same
    choice: 3 × the model's multiply-adds per example (`model_multiply_adds`, forward and
    backward) × the batch, at `MULTIPLY_ADDS_PER_SECOND` (measured on 2 CPU cores: about
    1e11 for both the photo convnet and the IMDB Conv1D model) or 100 times that on a GPU.

    Args:
        task_model: the built model (`architecture["sequence_length"]` sizes text models).
        batch: the global batch size.
        gpu: whether the run trains on GPUs. Defaults to False.
    """
    length = task_model.architecture.get("sequence_length", 1)
    return steps_per_model(task_model.model, batch, gpu, length)


def steps_per_model(model: keras.Model, batch: int, gpu: bool = False, length: int = 1) -> int:
    """`auto_steps_per_execution` of one model (such as a training phase's), whose
    sequences are `length` long when unknown."""
    speed = MULTIPLY_ADDS_PER_SECOND * (GPU_SPEED_UP if gpu else 1)
    return steps_for(3 * model_multiply_adds(model, length) * batch / speed)


def model_multiply_adds(model: keras.Model, length: int = 1) -> float:
    """Multiply-adds per example of the layers with a kernel (Dense, Conv1D, Conv2D, ...): the
    kernel's size times the positions it is applied at (the output's size without its batch
    and channel axes; an unknown length counts as `length` over the strides so far)."""
    total, stride = 0.0, 1
    for layer in _layers(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not hasattr(layer, "output"):
            continue
        stride *= int(np.prod(getattr(layer, "strides", 1)))  # strided convolutions shorten
        dims = [-(-length // stride) if d is None else d for d in layer.output.shape[1:-1]]
        total += float(np.prod(dims)) * float(np.prod(kernel.shape))
    return total


def _layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """The model's layers in order, those of nested models (`Model.layers`) in their place."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def steps_for(step_seconds: float) -> int:
    """Steps per call such that a call takes about `STEP_CALL_SECONDS`, from 1 to
    `MAX_STEPS_PER_EXECUTION`, for steps of `step_seconds` each."""
    return max(1, min(MAX_STEPS_PER_EXECUTION, int(STEP_CALL_SECONDS / max(step_seconds, 1e-9))))
