"""The sections that set tfapps' model choices beside other recipes: text and tables against
scikit-learn (`bench/baselines.py`), pretrained backbones against training from scratch and
TensorFlow's tutorial, and `tfapps tune` against the defaults.

`ModelSections` is a part of `run_benchmarks.Bench` (it uses its settings, scratch folder,
`run_cli`, `entry` and `results`). Each section takes the data it needs beyond the embedded
datasets from a command-line option and is skipped, with one line, without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import plan, runner
from bench.figures import run_summary
from bench.plan import BACKBONE, PHOTOS, TEXT_ARCHITECTURES

# What each section trains on, prepared before anything is timed (`TASK` or `TASK=DATASET`).
PREPARED = {
    "text_baselines": ["sentiment", "sentiment=rotten_tomatoes"],
    "tune": ["image-classify", "sentiment=rotten_tomatoes", "regress"],
}
TABLE_RECIPES = ("hgb", "logistic")
FIGURES = ("accuracy", "balanced_accuracy", "roc_auc")


class ModelSections:
    """The text_baselines, table_baselines, backbones and tune sections of `Bench`."""

    def text_baselines(self) -> None:
        """`tfapps sentiment --architecture conv|ngram|auto` beside TF-IDF + logistic
        regression, on IMDB, Rotten Tomatoes and (with `--bbc`) BBC News."""
        datasets = {"imdb": "movie_reviews", "rotten_tomatoes": "rotten_tomatoes"}
        if self.bbc_csv is None:
            print("text_baselines: BBC News skipped (pass --bbc FILE, a CSV of text,label)")
        else:
            datasets["bbc_news"] = str(self.bbc_csv.expanduser().resolve())
        entry = self.entry(runs=[])
        sides = [(f"tfapps {a}", ("--architecture", a)) for a in TEXT_ARCHITECTURES]
        for name, dataset in datasets.items():
            # tfapps' --max-examples keeps a text CSV's first rows, and BBC's are sorted by
            # topic: the 2,225 articles always run whole
            cap = None if name == "bbc_news" else self.settings.model_max_examples
            self._against_sklearn("text_baselines", entry, name, "sentiment", dataset, sides, cap)

    def table_baselines(self) -> None:
        """`tfapps table-classify` with its defaults beside gradient boosting and one-hot
        logistic regression, on the Palmer penguins and (with `--adult`) UCI Adult."""
        datasets = {"penguins": ("penguins", None)}
        if self.adult_csv is None:
            print("table_baselines: Adult skipped (pass --adult FILE, UCI Adult as one CSV)")
        else:
            datasets["adult"] = (str(self.adult_csv.expanduser().resolve()), "income")
        entry = self.entry(runs=[])
        for name, (dataset, target) in datasets.items():
            chosen = ("--target", target) if target else ()
            sides = [("tfapps", chosen)]
            cap = self.settings.model_max_examples
            self._against_sklearn(
                "table_baselines", entry, name, "table-classify", dataset, sides, cap, target
            )

    def _against_sklearn(self, key, entry, name, task, dataset, sides, cap, target=None) -> None:
        """tfapps' `sides` (label, options) and the section's scikit-learn recipes on one
        dataset, seed by seed: the recipes on tfapps' split of it (`baselines.export`, with
        the same seed and example cap `cap`), each in a process of its own."""
        recipes = ("tfidf_lr",) if task == "sentiment" else TABLE_RECIPES
        common = ("--data-dir", str(self.data_dir))
        common += ("--max-examples", str(cap)) if cap else ()
        for seed in range(1, self.settings.model_seeds + 1):
            folder = self.scratch / f"split{next(self._run_ids)}"
            export = [sys.executable, "-m", "bench.baselines", "export", task, dataset]
            export += [str(folder), "--seed", str(seed), *common]
            split = runner.last_json_line(export + (["--target", target] if target else []))
            for label, options in sides:
                facts = self.run_cli(task, dataset, seed, (*options, *common))
                if facts["sizes"] != split["sizes"]:
                    raise SystemExit(
                        f"{key} {name}: tfapps split {facts['sizes']}, exported {split['sizes']}"
                    )
                test = facts["metrics"]["test"]
                auc = test.get("roc_auc", test.get("roc_auc_ovr"))
                run = {"side": label, **{f: test.get(f) for f in FIGURES}, "roc_auc": auc}
                run.update(architecture=facts["architecture"], epochs=facts["epochs"])
                self._store(key, entry, name, seed, run, facts)
            for recipe in recipes:
                finished = runner.run_process(
                    [sys.executable, "-m", "bench.baselines", recipe, str(folder)]
                )
                figures = json.loads(finished.stdout.strip().splitlines()[-1])
                run = {"side": recipe, **{f: figures[f] for f in FIGURES}}
                self._store(key, entry, name, seed, run, vars(finished))
        entry.setdefault("sizes", {})[name] = split["sizes"]
        self.results.save(key, entry)

    def _store(self, key: str, entry: dict, dataset: str, seed: int, run: dict, facts) -> None:
        """Adds one run (its wall time and peak RSS from `facts`) to the entry, and saves."""
        run = {"dataset": dataset, "seed": seed, **run}
        run.update(wall_seconds=facts["wall_seconds"], peak_rss_mb=facts["peak_rss_mb"])
        entry["runs"].append(run)
        shown = ", ".join(
            f"{k.replace('_', ' ')} {v:.4f}"
            for k, v in run.items()
            if k in FIGURES + ("quality", "validation") and v is not None
        )
        print(
            f"{key} {dataset} {run['side']} seed {seed}: {shown}, wall "
            f"{run['wall_seconds']:.0f}s, peak RSS {run['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        self.results.save(key, entry)

    def backbones(self) -> None:
        """`tfapps image-classify --backbone efficientnet_lite0` beside its from-scratch
        model (`--backbone none`) and TensorFlow's tutorial (`bench/reference/photos.py`, on
        tfapps' split), on `--photos` and `--cats-dogs`."""
        folders = {"flower_photos": self.photos_folder, "cats_dogs": self.cats_dogs}
        entry = self.entry(runs=[], photos={})
        for name, given in folders.items():
            if given is None:
                option = "--photos" if name == "flower_photos" else "--cats-dogs"
                print(f"backbones: {name} skipped (pass {option} FOLDER)")
                continue
            folder = self._photo_folder(name, given.expanduser().resolve())
            entry["photos"][name] = sum(1 for path in folder.rglob("*") if path.is_file())
            fine_tune = self.settings.fine_tune_epochs
            tuned = ("--fine-tune-epochs", str(fine_tune)) if fine_tune else ()
            for seed in range(1, self.settings.model_seeds + 1):
                for backbone in (BACKBONE, "none"):
                    options = ("--backbone", backbone, *(tuned if backbone != "none" else ()))
                    facts = self.run_cli("image-classify", str(folder), seed, options)
                    run = {"side": f"tfapps --backbone {backbone}", "accuracy": facts["quality"]}
                    self._store("backbones", entry, name, seed, run, facts)
                scratch = self.scratch / f"run{next(self._run_ids)}"
                raw = runner.training_run(
                    "reference",
                    PHOTOS,
                    seed,
                    scratch,
                    self.data_dir,
                    dataset=str(folder),
                    epochs=self.settings.epochs,
                )
                tutorial = run_summary(raw, PHOTOS)
                run = {"side": "tutorial", "accuracy": tutorial["quality"]}
                self._store("backbones", entry, name, seed, run, tutorial)

    def _photo_folder(self, name: str, folder: Path) -> Path:
        """The folder itself, or with `photos_per_folder` a folder of links to the first
        photos of each of its folders, in the same layout (`train/<class>/` stays so)."""
        count = self.settings.photos_per_folder
        if not count:
            return folder
        subset = self.scratch / f"subset-{name}"
        for leaf in sorted({path.parent for path in folder.rglob("*.jpg")}):
            for photo in sorted(leaf.glob("*.jpg"))[:count]:
                link = subset / photo.relative_to(folder)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(photo)
        return subset

    def tune(self) -> None:
        """The defaults on `tune_default_seeds` seeds (their spread is the goal's yardstick)
        beside `tfapps tune --time-budget` on seed 1 (with `--folds` on the small datasets,
        `plan.TUNE_FOLDS`), on digits, Rotten Tomatoes, Auto MPG and (with `--adult`) UCI
        Adult."""
        runs = {
            "digits": ("image-classify", "digits", ()),
            "rotten_tomatoes": ("sentiment", "rotten_tomatoes", ()),
            "auto_mpg": ("regress", "auto_mpg", ()),
        }
        if self.adult_csv is None:
            print("tune: Adult skipped (pass --adult FILE, UCI Adult as one CSV)")
        else:
            adult = str(self.adult_csv.expanduser().resolve())
            runs["adult"] = ("table-classify", adult, ("--target", "income"))
        common = ("--data-dir", str(self.data_dir))
        budget = ("--time-budget", self.settings.tune_budget)
        entry = self.entry(time_budget=self.settings.tune_budget, folds=plan.TUNE_FOLDS, runs=[])
        for name, (task, dataset, options) in runs.items():
            folds = ("--folds", str(plan.TUNE_FOLDS[name])) if name in plan.TUNE_FOLDS else ()
            seeds = range(1, self.settings.tune_default_seeds + 1)
            sides = [("default", task, (), seed) for seed in seeds]
            sides.append(("tune", f"tune {task}", (*budget, *folds), 1))
            for side, command, extra, seed in sides:
                facts = self.run_cli(command, dataset, seed, (*options, *common, *extra))
                validation = facts["metrics"]["validation"].get(facts["metric"])
                run = {"side": side, "metric": facts["metric"], "quality": facts["quality"]}
                run.update(validation=validation, trials=facts["trials"])
                run["trial_peak_rss_mb"] = facts["trial_peak_rss_mb"]
                self._store("tune", entry, name, seed, run, facts)
