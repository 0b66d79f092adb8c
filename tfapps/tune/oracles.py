"""KerasTuner's random, Bayesian and Hyperband oracles, changed in two ways: the first trial
is the space's defaults (so a search never ends worse on validation than the options it
started from), and a new trial starts only while the search's budget admits one.

What KerasTuner keeps private is used here only (tests/test_tune.py fails when a release
moves it): its `config.DEBUG` prints each failed trial's traceback (tfapps prints one line);
every oracle draws a new trial's random values in `Oracle._random_values`
(random search, Bayesian initial points, Hyperband's new brackets), which the first trial
replaces with the defaults; Hyperband keeps its shortest trial in `min_epochs` and plans its
brackets from it in `__init__` (KerasTuner 1.4.8, `keras_tuner/src/tuners/hyperband.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import keras_tuner
from keras_tuner.src import config as keras_tuner_config

from tfapps.tune.space import default_values

HYPERBAND_FACTOR = 3  # KerasTuner's default reduction factor
keras_tuner_config.DEBUG = False  # a failed trial is one line of tfapps', not a traceback


class _DefaultsFirst:
    """Mixin for a KerasTuner oracle: defaults first, and trials only while `admit()`."""

    admit: Callable[[], bool] = staticmethod(lambda: True)

    def populate_space(self, trial_id):
        if not self.admit():
            return {"status": "STOPPED", "values": None}
        return super().populate_space(trial_id)

    def _random_values(self):
        if not self.trials:  # the search's first trial
            return default_values(self.hyperparameters)
        return super()._random_values()


class RandomOracle(_DefaultsFirst, keras_tuner.oracles.RandomSearchOracle):
    """Random search, the defaults first."""


class BayesianOracle(_DefaultsFirst, keras_tuner.oracles.BayesianOptimizationOracle):
    """Bayesian optimization (a Gaussian process), the defaults first among its random
    initial points."""


class HyperbandOracle(_DefaultsFirst, keras_tuner.oracles.HyperbandOracle):
    """Hyperband, the defaults first, whose shortest trials run `min_epochs` epochs.

    Args:
        min_epochs: the fewest epochs of a trial (the task's patience: a shorter trial could
            not stop early). Its brackets are planned from it.
        **kwargs: for `keras_tuner.oracles.HyperbandOracle`.
    """

    def __init__(self, min_epochs: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_epochs = max(1, min(min_epochs, self.max_epochs))
        self._current_bracket = self._get_num_brackets() - 1
        self._brackets = []
        self._start_new_bracket()


def make_oracle(
    tuner: str,
    objective: keras_tuner.Objective,
    max_trials: int | None,
    max_epochs: int,
    min_epochs: int,
    knobs: int,
    seed: int,
):
    """The oracle of `--tuner`.

    Args:
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        objective: the validation metric and its direction.
        max_trials: the most trials; `None` for no limit.
        max_epochs: the task's epochs, Hyperband's longest trial.
        min_epochs: Hyperband's shortest trial.
        knobs: how many knobs the space has (the Bayesian random trials).
        seed: the search's seed (`--seed`).
    """
    common = {"objective": objective, "seed": seed, "max_consecutive_failed_trials": 3}
    if tuner == "random":
        return RandomOracle(max_trials=max_trials, **common)
    if tuner == "bayesian":
        return BayesianOracle(max_trials=max_trials, num_initial_points=max(3, knobs), **common)
    oracle = HyperbandOracle(
        min_epochs, max_epochs=max_epochs, factor=HYPERBAND_FACTOR, hyperband_iterations=1, **common
    )
    oracle.max_trials = max_trials  # Hyperband plans no limit of its own
    return oracle
