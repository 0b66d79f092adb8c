"""Adam with TensorFlow's fused update kernel: the same algorithm as `keras.optimizers.Adam`.

Keras 3's Adam updates a variable with about ten element-wise operations, each a pass over the
variable and its two moments. For the 2.6-million-weight embedding of the sentiment model that
memory traffic is a large share of a CPU training step. `ResourceApplyAdam`, the kernel
TensorFlow's own optimizers used, does the same update in one pass; bench/NOTES.md has the
measurements.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfapps", name="FusedAdam")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose per-variable update runs as one fused TensorFlow kernel.

    The update is Adam's, with Keras's placement of epsilon:
    `lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`, `m = beta_1 m + (1 - beta_1) g`,
    `v = beta_2 v + (1 - beta_2) g^2`, `w -= lr_t m / (sqrt(v) + epsilon)`; results equal
    Keras's up to float rounding. Sparse gradients (an embedding's) become dense first, as
    Keras's Adam makes them. AMSGrad falls back to Keras's own update.

    Args:
        learning_rate: the step size. Defaults to 1e-3.
        **kwargs: any other argument of `keras.optimizers.Adam`.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.convert_to_tensor(gradient, dtype),
        )


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (the local copy under a strategy)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle
