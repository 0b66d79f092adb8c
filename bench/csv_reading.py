"""Reading a large CSV, in a process of its own: tfapps' table reader against plain pandas.

`tfapps` reads the file as `tfapps regress --dataset FILE --target y` does, up to the three
tf.data splits (`tfapps_internals.read_table`); `pandas` is `pandas.read_csv(FILE, dtype=str)`,
the cells as strings, which is where tfapps' reader starts. The process prints one JSON line:
the seconds the read took (imports excluded) and the resident memory once the imports were
done; the parent adds the process's peak (`runner.run_process`).

Usage:
    python -m bench.csv_reading tfapps big.csv [--max-examples 10000]
    python -m bench.csv_reading pandas big.csv
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import psutil

READERS = ("tfapps", "pandas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reader", choices=READERS)
    parser.add_argument("path", type=Path)
    parser.add_argument("--max-examples", type=int, help="tfapps' --max-examples")
    options = parser.parse_args()
    if options.reader == "tfapps":
        from bench import tfapps_internals

        tfapps_internals.import_table_reader()
    import pandas as pd

    imported_mb = psutil.Process().memory_info().rss / 2**20
    started = time.perf_counter()
    if options.reader == "tfapps":
        sizes = tfapps_internals.read_table(options.path, "y", options.max_examples)
    else:
        sizes = {"rows": len(pd.read_csv(options.path, dtype=str, keep_default_na=False))}
    seconds = time.perf_counter() - started
    print(json.dumps({"read_seconds": seconds, "imported_rss_mb": imported_mb, "sizes": sizes}))


if __name__ == "__main__":
    main()
