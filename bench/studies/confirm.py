"""Confirms one comparison's quality on fresh seeds: is tfapps no worse than the reference?

The table's goal compares the two sides' median final quality over the benchmark's seeds.
Where tfapps' median is worse, a second sample can decide: both sides train again, with the
same code and settings, on seeds after the table's, and tfapps passes when it is not worse than
the reference by more than `NON_INFERIORITY_MARGIN` (`bench.figures.non_inferiority`: the
lower end of the 95% interval of tfapps' mean paired gain lies above minus the margin). The
seeds and the rule are fixed before the runs. Up to `--jobs` runs share the machine at once, so
only their quality is kept (with how many epochs they ran and the code's git commit), not
their times.

Results go to docs/benchmarks.json (entry `confirmation/NAME`) after every run, and
docs/BENCHMARKS.md is rendered again. Started again with the same seeds, the script keeps the
stored runs and trains only the missing ones; a failed run is reported at the end and trained
again on the next start.

Usage:
    python -m bench.studies.confirm auto_mpg --first-seed 82 --last-seed 201 --jobs 2
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bench.figures import missing_runs
from bench.plan import COMPARISONS, FULL, NON_INFERIORITY_MARGIN
from bench.run_benchmarks import DOCS, Bench, Results


def quality_only(run: dict, commit: str | None) -> dict:
    """What a confirmation keeps of a run: side, seed, final quality, epoch count and the
    code's commit (`bench.runner.code_commit`)."""
    kept = {key: run[key] for key in ("side", "seed", "final_quality")}
    return {**kept, "epochs": len(run["epoch_seconds"]), "commit": commit}


def stored_confirmation(results: Results, name: str, seeds: range, restart: bool) -> dict | None:
    """The stored confirmation of comparison `name` to continue, or `None` to start one.

    Args:
        results: the stored results.
        name: the comparison.
        seeds: the seeds the confirmation is to train.
        restart: whether to drop a stored confirmation of other seeds or another margin
            (otherwise it is an error).

    Raises:
        ValueError: a confirmation of other seeds or another margin is stored and `restart`
            is `False`.
    """
    entry = results.entries.get(f"confirmation/{name}")
    design = _design(seeds)
    if entry is None or {key: entry[key] for key in design} == design:
        return entry
    if restart:
        return None
    stored = f"seeds {entry['first_seed']}-{entry['last_seed']}, margin {entry['margin']}"
    raise ValueError(f"a confirmation of {stored} is stored; pass --restart to replace it")


def confirm(bench: Bench, name: str, seeds: range, jobs: int, stored: dict | None) -> int:
    """Trains both sides of comparison `name` on `seeds`, storing each run as it finishes.

    Args:
        bench: the benchmark whose settings, scratch directory and results are used.
        name: the comparison.
        seeds: the seeds, each trained on both sides.
        jobs: how many runs train at once.
        stored: the confirmation of these seeds to continue (`stored_confirmation`), whose
            runs are not trained again, or `None` to start a new one.

    Returns:
        The number of runs that failed (each printed as it fails).
    """
    entry = (
        stored if stored is not None else bench.entry(comparison=name, **_design(seeds), runs=[])
    )
    missing = missing_runs(entry["runs"], seeds)
    print(f"{name}: {len(entry['runs'])} runs stored, {len(missing)} to train", flush=True)
    this_code = bench.commit or "not recorded"
    other_code = {run.get("commit") or "not recorded" for run in entry["runs"]} - {this_code}
    if missing and other_code:
        used = ", ".join(sorted(other_code))
        print(f"note: stored runs used other code ({used}); this code: {this_code}", flush=True)
    failed = 0
    with ThreadPoolExecutor(jobs) as pool:
        futures = {
            pool.submit(bench.train, side, name, seed): (side, seed) for side, seed in missing
        }
        try:
            for future in as_completed(futures):
                try:
                    entry["runs"].append(quality_only(future.result(), bench.commit))
                except RuntimeError as error:
                    failed += 1
                    side, seed = futures[future]
                    print(f"{name} {side} seed {seed} failed: {error}", flush=True)
                    continue
                bench.results.save(f"confirmation/{name}", entry)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return failed


def _design(seeds: range) -> dict:
    """What a confirmation on `seeds` fixes before it runs: its seeds and margin."""
    return {
        "first_seed": seeds.start,
        "last_seed": seeds.stop - 1,
        "margin": NON_INFERIORITY_MARGIN,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("comparison", choices=COMPARISONS, help="the comparison to confirm")
    parser.add_argument(
        "--first-seed",
        type=int,
        required=True,
        help="the first seed; after the table's (make bench runs seeds 1 to its seed count)",
    )
    parser.add_argument("--last-seed", type=int, required=True, help="the last seed to train")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (default: 1)")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="replace a stored confirmation of other seeds or another margin (default: refuse)",
    )
    options = parser.parse_args()
    table_seeds = FULL.seeds[options.comparison]
    if not table_seeds < options.first_seed <= options.last_seed or options.jobs < 1:
        parser.error(
            f"need {table_seeds} < --first-seed <= --last-seed (the table uses seeds "
            f"1-{table_seeds}) and --jobs >= 1"
        )
    results = Results(DOCS / "benchmarks.json", DOCS / "BENCHMARKS.md")
    seeds = range(options.first_seed, options.last_seed + 1)
    try:  # before the machine survey and the datasets, which take seconds
        stored = stored_confirmation(results, options.comparison, seeds, options.restart)
    except ValueError as error:
        parser.error(str(error))
    with tempfile.TemporaryDirectory(prefix="tfapps-confirm-") as scratch:
        bench = Bench(FULL, results, Path(scratch), (options.comparison,))
        bench.prepare([options.comparison])
        failed = confirm(bench, options.comparison, seeds, options.jobs, stored)
    print(f"wrote {results.report}")
    if failed:
        raise SystemExit(f"{failed} runs failed; the same command trains them again")


if __name__ == "__main__":
    main()
