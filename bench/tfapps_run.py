"""One tfapps training with its defaults, through the Python API, timed like the references.

`tfapps.api.train` runs the whole command (data, training, evaluation, export, run directory)
with an `EpochClock` added to its callbacks. Afterwards, outside any timing, every epoch's
weights are loaded into the training model and scored through the serving model (raw input,
the model tfapps exports) on the test split, the same way the reference scripts score theirs.

Usage:
    python -m bench.tfapps_run sentiment --scratch /tmp/run --result run.json --seed 1
"""

from __future__ import annotations

import json
import sys

from bench import measure
from tfapps.api import train
from tfapps.config import CONFIG_CLASSES


def main() -> None:
    task = sys.argv.pop(1)
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=None)
    config = measure.config_for(CONFIG_CLASSES[task], options)
    clock = measure.epoch_clock(options)
    result = train(config, callbacks=[clock])
    end = measure.recipe_end()

    data, info = measure.load_arrays(config, ("test",))
    x_test, y_test = data["test"]
    record = json.loads((result.run_dir / "run.json").read_text())
    measure.write_result(
        options,
        end,
        task,
        clock,
        clock.model.set_weights,
        lambda: measure.predict(result.model, x_test),
        y_test,
        info.sizes["train"],
        steps_per_execution=config.steps_per_execution,
        length_batches=getattr(config, "length_batches", None),
        run_dir=str(result.run_dir),
        run_json_quality=record["headline"]["value"],
        run_json_train_seconds=record["timings"]["train_seconds"],
    )


if __name__ == "__main__":
    main()
