"""Training under MultiWorkerMirroredStrategy: tfapps' own epoch loop, and how workers adopt
the chief's state on resume."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf


def fit_distributed(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
    strategy: tf.distribute.Strategy,
    chief: bool = True,
    initial_epoch: int = 0,
) -> keras.callbacks.History:
    """Runs the epochs with `strategy.run` over the model's own `train_step` and `test_step`.

    Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585:
    its symbolic build receives per-replica values). This loop keeps everything else Keras's:
    the same compiled loss, optimizer and metrics, cross-replica metric results, and the same
    callbacks, driven through `keras.callbacks.CallbackList`.

    On a resume, the chief's `BackupAndRestore` restores its weights and optimizer state, and
    the chief passes the epoch its checkpoint holds; every worker then adopts them from the
    chief (`adopt_chief_state`), so the other workers need no checkpoint of their own and no
    file shared with the chief.

    Args:
        model: a compiled model built under `strategy`'s scope.
        train: batched training data (global batch size; auto-sharded by data across workers).
        validation: batched validation data.
        epochs: the most epochs to run (early stopping may end sooner).
        callbacks: the callbacks `fit` would get.
        strategy: the distribution strategy.
        chief: whether this process is the chief, whose checkpoint the workers resume from.
            Defaults to `True`.
        initial_epoch: on the chief, the epochs its checkpoint holds (`training.align_history`);
            ignored on the other workers. Defaults to 0.
    """
    build_for_distribution(model, train, strategy)
    train_step = tf.function(lambda batch: strategy.run(model.train_step, args=(batch,)))
    test_step = tf.function(lambda batch: strategy.run(model.test_step, args=(batch,)))
    distributed = {
        name: strategy.experimental_distribute_dataset(data)
        for name, data in (("train", train), ("validation", validation))
    }
    hooks = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=False,  # TrainingProgress, among the callbacks, shows progress
        model=model,
        verbose=2,
        epochs=epochs,
        steps=None,
    )
    model.stop_training = False
    hooks.on_train_begin()  # the chief's BackupAndRestore restores a checkpoint here
    start = adopt_chief_state(
        strategy,
        chief,
        [*model.variables, *model.optimizer.variables],
        initial_epoch,
    )
    for epoch in range(int(start), epochs):
        hooks.on_epoch_begin(epoch)
        logs = _run_epoch(model, train_step, distributed["train"], hooks.on_train_batch_end)
        validation_logs = _run_epoch(
            model, test_step, distributed["validation"], hooks.on_test_batch_end
        )
        logs.update({f"val_{name}": value for name, value in validation_logs.items()})
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    hooks.on_train_end()
    return model.history


def adopt_chief_state(strategy, chief: bool, variables: Sequence, number: float = 0) -> float:
    """Gives every worker the chief's values of `variables` and returns the chief's `number`.

    The values travel in one cross-worker all-reduce (a sum in which only the chief
    contributes non-zeros), TensorFlow's own collective, so the workers need not share files.
    Every worker must call it at the same point, with variables of the same shapes.

    Args:
        strategy: the `MultiWorkerMirroredStrategy` in use.
        chief: whether this process is the chief.
        variables: Keras or TensorFlow variables of any numeric dtype; assigned in place.
        number: a scalar known to the chief, such as the epoch to start from. Defaults to 0.
    """
    values = [tf.convert_to_tensor(v) for v in variables] + [tf.constant(number, tf.float64)]

    def contribute():
        local = [tf.cast(v, tf.float64) if chief else tf.zeros(v.shape, tf.float64) for v in values]
        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM, local)

    summed = tf.function(lambda: strategy.run(contribute))()
    chiefs = [strategy.experimental_local_results(value)[0] for value in summed]
    for variable, value in zip(variables, chiefs[:-1], strict=True):
        variable.assign(tf.cast(value, variable.dtype))
    return float(chiefs[-1])


def build_for_distribution(model: keras.Model, data: tf.data.Dataset, strategy) -> None:
    """Creates the compiled loss's, metrics' and optimizer's variables under `strategy`'s scope
    from one local batch, as `model.fit` would, then clears the metrics."""
    inputs, labels = next(iter(data))
    with strategy.scope():
        predictions = model(inputs, training=False)
        model.compute_loss(inputs, labels, predictions)
        model.compute_metrics(inputs, labels, predictions, sample_weight=None)
        model.optimizer.build(model.trainable_variables)
    model.reset_metrics()


def _run_epoch(model: keras.Model, step, batches, on_batch_end) -> dict[str, float]:
    model.reset_metrics()
    for index, batch in enumerate(batches):
        step(batch)
        on_batch_end(index)
    return {name: float(value) for name, value in model.get_metrics_result().items()}
