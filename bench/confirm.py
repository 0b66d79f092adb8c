"""Confirms one comparison's quality on fresh seeds: is tfapps no worse than the reference?

The table's goal compares the two sides' median final quality over the benchmark's seeds.
Where tfapps' median falls short by less than the spread between seeds, a second sample
decides: both sides train again, with the same code, on seeds the table never ran, and tfapps
counts as equal when it is no worse than the reference within `NON_INFERIORITY_MARGIN`
(`bench.figures.non_inferiority`: the lower end of the 95% interval of tfapps' mean paired
gain lies above minus the margin). The seeds and the rule are fixed before the runs. Up to
`--jobs` runs share the machine at once, so only their quality is reported, not their times.

Results go to docs/benchmarks.json (entry `confirmation/NAME`) after every run, and
docs/BENCHMARKS.md is rendered again; started again with the same seeds, the script keeps the
stored runs and trains only the missing ones.

Usage:
    python -m bench.confirm auto_mpg --first-seed 82 --last-seed 201 --jobs 2
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bench.plan import COMPARISONS, FULL, NON_INFERIORITY_MARGIN
from bench.run_benchmarks import DOCS, Bench, Results

SIDES = ("reference", "tfapps")


def confirm(bench: Bench, name: str, seeds: range, jobs: int) -> None:
    """Trains both sides of comparison `name` on `seeds`, storing each run as it finishes.

    Args:
        bench: the benchmark whose settings, scratch directory and results are used.
        name: the comparison.
        seeds: the seeds, each trained on both sides.
        jobs: how many runs train at once.
    """
    key = f"confirmation/{name}"
    planned = {"first_seed": seeds.start, "last_seed": seeds.stop - 1}
    entry = bench.results.entries.get(key)
    if entry is None or {k: entry[k] for k in planned} != planned:
        entry = bench.entry(comparison=name, **planned, margin=NON_INFERIORITY_MARGIN, runs=[])
    done = {(run["side"], run["seed"]) for run in entry["runs"]}
    missing = [(side, seed) for seed in seeds for side in SIDES if (side, seed) not in done]
    print(f"{name}: {len(done)} runs stored, {len(missing)} to train", flush=True)
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(bench.train, side, name, seed) for side, seed in missing]
        for future in as_completed(futures):
            entry["runs"].append(future.result())
            bench.results.save(key, entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("comparison", choices=COMPARISONS, help="the comparison to confirm")
    parser.add_argument("--first-seed", type=int, required=True, help="the first seed to train")
    parser.add_argument("--last-seed", type=int, required=True, help="the last seed to train")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (default: 1)")
    options = parser.parse_args()
    if not 1 <= options.first_seed <= options.last_seed or options.jobs < 1:
        parser.error("need 1 <= --first-seed <= --last-seed and --jobs >= 1")
    results = Results(DOCS / "benchmarks.json", DOCS / "BENCHMARKS.md")
    with tempfile.TemporaryDirectory(prefix="tfapps-confirm-") as scratch:
        bench = Bench(FULL, results, Path(scratch), (options.comparison,))
        bench.prepare([options.comparison])
        seeds = range(options.first_seed, options.last_seed + 1)
        confirm(bench, options.comparison, seeds, options.jobs)
    print(f"wrote {results.report}")


if __name__ == "__main__":
    main()
