"""`tune(config, options)`: a search over the task's space, then the best trial's settings
trained on train + validation and scored once on test, as a run directory like a training
command's.

runtime → data → space (`--space` checked) → run directory → search (its trials in
`search/`, reading only train and validation) → final training → report → export →
publication. The run is resumable at every step (`--resume`): the search keeps its finished
trials and continues the interrupted one; the final training resumes from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import pandas as pd

from tfapps import api, recording, runs, runtime
from tfapps.config import RunConfig, checks
from tfapps.errors import InvalidInput, RunFailed
from tfapps.signals import stop_on_sigterm
from tfapps.tune.options import CHANGEABLE_ON_RESUME, TuneOptions

log = logging.getLogger("tfapps")
DATA_DIR = "data"  # in the search's folder: the train and validation splits the trials read


def tune(config: RunConfig, options: TuneOptions, resume: str | None = None) -> api.RunResult:
    """Searches the task's space, trains the best settings on train + validation, scores
    them on test, and exports the model, as `api.train` does for one config.

    The search's score is the task's headline metric on validation (or its mean over
    `--folds`); the first trial is `config` itself, and a tie keeps the earlier trial, so
    the search never picks worse than `config` on validation. The final training runs the
    best trial's best epoch count (KerasTuner's advice: retrain on the whole data with the
    best epoch), without early stopping, since no data is left to stop on; a model trained
    in phases runs each phase's best epochs, and none of a phase whose weights the trial
    dropped (`trial.phase_epochs`).

    Args:
        config: the task's options, where the search starts.
        options: the search's options.
        resume: `"latest"` or the id of an interrupted search of the same task and dataset;
            its options must be the same (but for `--time-budget` and `--max-trials`).
            Defaults to a new search.

    Returns:
        The finished run (its `config` in run.json is the best trial's).

    Raises:
        InvalidInput: bad options, `--space` values or data (nothing is written).
        Interrupted: Ctrl-C or SIGTERM; the message holds the command that resumes it.
        RunFailed: no trial finished, or three in a row failed.
    """
    from tfapps.summary import rebuild_summary

    started = time.perf_counter()
    with stop_on_sigterm():
        if config.strategy == "multi-worker":
            raise checks.invalid(
                "strategy", "auto, default or mirrored with tfapps tune", config.strategy
            )
        output = recording.open_output(config, resume, tuned=True)
        if output.record is not None:
            _check_same_search(output.record, options)
        runtime.import_tensorflow(config.debug)
        from tfapps.data.load import load_splits
        from tfapps.data.splits import Splits
        from tfapps.tasks import config_from_dict, get_task
        from tfapps.tune import data, search

        setup = runtime.set_up(config)
        splits = load_splits(config)
        task = get_task(config.task)
        space = search.declare_space(task, config, splits.info, options)
        folds = None
        if options.folds:
            labels = data.pool_labels(splits.train, splits.validation)
            folds = data.fold_of_each(labels, options.folds, task.classifier, config.seed)
        timings = {"data_seconds": time.perf_counter() - started}
        recorder = recording.RunRecorder.start(
            output, config, setup.describe(), splits.info, api.versions(), timings
        )
        objective = f"val_{task.headline_metric}"
        recorder.record.tune = {
            **recorder.record.tune,
            "options": options.to_dict(),
            "argv": options.to_argv(),
            "objective": objective,
            "direction": task.headline_direction,
            "knobs": [knob.describe() for knob in space.knobs.values()],
        }
        with recorder:
            directory = recorder.directory / runs.SEARCH_DIR
            sizes = splits.info.sizes
            data.save_search_data(
                splits.train, splits.validation, splits.info, directory / DATA_DIR, folds
            )
            plan = search.SearchSetup(
                task,
                config,
                splits.info,
                options,
                space,
                directory,
                directory / DATA_DIR,
                pool_examples=sizes["train"] + sizes["validation"],
            )
            if "final_trial" not in recorder.record.tune:  # the search is not over
                trials = search.run_search(plan)
                best = search.best_record(trials, task.headline_direction)
                if best is None:
                    raise RunFailed("No trial of the search finished; there is nothing to train.")
                recorder.record.tune["final_trial"] = best["trial"]  # the search is over
                recorder.record.write(recorder.directory)
                search.drop_trial_weights(directory)
            trials = search.trial_records(directory)
            best = next(t for t in trials if t["trial"] == recorder.record.tune["final_trial"])
            epochs = best.get("phase_epochs") or {"epochs": best["best_epoch"]}
            best_config = config_from_dict({**best["config"], **epochs, "quiet": config.quiet})
            log.info(
                "search: %d trials; best trial %d, %s %.4f (the defaults: %s); now trained on "
                "train + validation for %s",
                len(trials),
                best["trial"],
                objective,
                best["score"],
                _score(trials[0]),
                ", ".join(f"{n} ({option.replace('_', ' ')})" for option, n in epochs.items()),
            )
            final = Splits(
                train=splits.train.concatenate(splits.validation),
                validation=None,
                test=splits.test,
                info=dataclasses.replace(
                    task.tuned_info(best_config, splits.info),
                    sizes={**sizes, "train": plan.pool_examples},
                ),
                cache=splits.cache,
            )
            record = recorder.record  # the data's facts as the final model reads them
            record.dataset = dataclasses.replace(record.dataset, spec=final.info.spec)
            trained, history, metrics = api.train_report_export(best_config, setup, final, recorder)
            metrics = _with_validation(metrics, best["metrics"], recorder.directory)
            from tfapps.tune.report import write_search_report

            write_search_report(recorder.directory, trials, objective, task.headline_direction)
            recorder.record.config = best_config.to_dict()
            recorder.record.tune.update(
                start_config=config.to_dict(),
                trials=len(trials),
                best_trial=best["trial"],
                best_score=best["score"],
                default_score=trials[0]["score"],
                final_epochs=sum(epochs.values()),
                search_seconds=sum(trial["seconds"] for trial in trials),
            )
            published = api.complete(
                recorder, best_config, trained, final, history, metrics, started
            )
    rebuild_summary(output.output_dir)
    return api.RunResult(
        published,
        recorder.record.headline,
        metrics,
        trained.task_model.serving_model,
        time.perf_counter() - started,
    )


def _score(record: dict) -> str:
    return "failed" if record.get("score") is None else f"{record['score']:.4f}"


def _check_same_search(record: runs.RunRecord, options: TuneOptions) -> None:
    """Refuses to resume a search with other search options (`--time-budget` and
    `--max-trials` may change).

    Raises:
        InvalidInput: naming each contradicting option, its value and the search's.
    """
    before, after = record.tune["options"], options.to_dict()
    changed = [
        f"--{name.replace('_', '-')} {after[name]!r} (the search used {before.get(name)!r})"
        for name in after
        if name not in CHANGEABLE_ON_RESUME and before.get(name) != after[name]
    ]
    if changed:
        raise InvalidInput(
            f"Invalid value for --resume: run {record.run_id} searched with other options: "
            f"{'; '.join(changed)}. Repeat its options, or start a new search."
        )


def _with_validation(test_metrics: pd.DataFrame, validation: dict, run_dir) -> pd.DataFrame:
    """metrics.csv of a tuned run: the best trial's validation metrics (the model trained on
    train alone, the one the search chose by; the mean over folds with `--folds`), then the
    final model's test metrics."""
    rows = pd.DataFrame(
        [
            {"split": "validation", "metric": name, "value": value}
            for name, value in validation.items()
        ]
    )
    metrics = pd.concat([rows, test_metrics], ignore_index=True)
    metrics.to_csv(run_dir / runs.METRICS_CSV, index=False)
    return metrics
