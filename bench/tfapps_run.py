"""One tfapps training with its defaults, through the Python API, timed like the references.

`tfapps.api.train` runs the whole command (data, training, evaluation, export, run directory)
with an `EpochClock` added to its callbacks. Afterwards, outside any timing, every epoch's
weights are loaded into the training model and scored through the serving model (raw input,
the model tfapps exports) on the test split, the same way the reference scripts score theirs.

Usage:
    python -m bench.tfapps_run --comparison imdb --scratch /tmp/run --result run.json --seed 1
"""

from __future__ import annotations

from bench import measure, tfapps_internals


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=None)
    config = measure.config_for(options)
    clock = measure.epoch_clock(options)
    run_dir, model = tfapps_internals.train(config, [clock])
    end = measure.recipe_end()
    data = tfapps_internals.load_arrays(config, ("test",))
    x_test, y_test = data.splits["test"]
    facts = tfapps_internals.run_facts(run_dir)
    measure.write_result(
        options,
        end,
        clock,
        clock.model.set_weights,
        lambda: measure.predict(model, x_test),
        y_test,
        data.sizes["train"],
        steps_per_execution=facts["steps_per_execution"],
        run_json_quality=facts["quality"],
    )


if __name__ == "__main__":
    main()
