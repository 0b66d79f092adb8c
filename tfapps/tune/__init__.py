"""`tfapps tune`: a KerasTuner search over a task's knobs that keeps a time budget, survives a
kill, keeps memory flat and never sees the test split; then the best settings trained on
train + validation, scored once on test, as a run directory like any training command's.

- `options.py`: the search's own options (`TuneOptions`), `--time-budget`, `--space`;
- `space.py`: `Space`, the knobs a task declares (`Task.search_space`) as KerasTuner
  hyperparameters, with `--space` applied;
- `oracles.py`: KerasTuner's random, Bayesian and Hyperband oracles whose first trial is
  the defaults and which start a trial only when the budget can fit it;
- `budget.py`: the time budget across sessions, estimates from finished trials;
- `search.py`: the KerasTuner tuner: each trial in its own process (`trial.py`), its
  results and peak memory;
- `trial.py`: one trial's process: the saved train and validation splits only (k folds of
  them with `--folds`), training resumable from its checkpoint, the validation report;
- `run.py`: `tune(config, options)`, the run from the data to the published directory.

Importing this package does not import TensorFlow or KerasTuner.
"""
