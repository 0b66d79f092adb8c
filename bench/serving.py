"""Batched predictions through a run's SavedModel: examples per second of `serving_default`.

Loads the SavedModel as a user without tfapps would (`tf.saved_model.load`), takes raw test
inputs from the run's own test split, and calls `serving_default` on batches of `BATCH_SIZE`
(`tfapps predict`'s batch size; a test split smaller than that is repeated to fill the batch)
for `--seconds`, after a few warm-up calls. Prints one JSON line.

Usage:
    python -m bench.serving saved_models/sentiment/movie_reviews/<run-id> --seconds 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench import measure
from tfapps.config import RunConfig
from tfapps.predict import BATCH_SIZE

WARM_UP_CALLS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished tfapps run directory")
    parser.add_argument("--seconds", type=float, default=3.0, help="time to measure (default: 3)")
    options = parser.parse_args()

    import tensorflow as tf

    record = json.loads((options.run_dir / "run.json").read_text())
    data, _ = measure.load_arrays(RunConfig.from_dict(record["config"]), ("test",))
    inputs, _ = data["test"]
    serve = tf.saved_model.load(str(options.run_dir / "saved_model"))
    signature = serve.signatures["serving_default"]
    names = list(signature.structured_input_signature[1])
    columns = inputs if isinstance(inputs, dict) else {names[0]: inputs}
    batch = {
        name: tf.constant(np.resize(values, (BATCH_SIZE, *values.shape[1:])))
        for name, values in columns.items()
    }
    for _ in range(WARM_UP_CALLS):
        signature(**batch)["predictions"].numpy()
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < options.seconds:
        signature(**batch)["predictions"].numpy()
        calls += 1
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "batch_size": BATCH_SIZE,
                "calls": calls,
                "seconds": seconds,
                "examples_per_second": calls * BATCH_SIZE / seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
