"""The plan of `tfapps train-all`: which configs to train, from its options.

No Click and no TensorFlow here, so the plan is cheap to build and to test.
"""

from __future__ import annotations

from typing import Any

from tfapps.config import ImageConfig, RegressConfig, RunConfig, TextConfig
from tfapps.errors import InvalidInput

SUITE: tuple[type[RunConfig], ...] = (ImageConfig, TextConfig, RegressConfig)
TASK_KEYS = {
    "image": ImageConfig,
    "image-classify": ImageConfig,
    "sentiment": TextConfig,
    "text": TextConfig,
    "regress": RegressConfig,
    "tabular": RegressConfig,
}
# --quick: a smoke run of a few minutes on 2 CPU cores (regress' patience and warm-up are
# scaled down with its epochs, not tuned).
QUICK = {
    ImageConfig: {"epochs": 10},
    TextConfig: {"epochs": 4, "max_examples": 2000},
    RegressConfig: {"epochs": 100, "patience": 25, "start_from_epoch": 25},
}


def parse_datasets(value: str | None) -> dict[type[RunConfig], str]:
    """Parses `image=mnist,sentiment=imdb_reviews,regress=diabetes` into config class → dataset."""
    chosen: dict[type[RunConfig], str] = {}
    for part in filter(None, (p.strip() for p in (value or "").split(","))):
        key, _, dataset = part.partition("=")
        if key.strip() not in TASK_KEYS or not dataset.strip():
            raise InvalidInput(
                "Invalid value for --datasets: expected TASK=DATASET pairs separated by commas, "
                f"with TASK one of image, sentiment, regress. Received: {part!r}"
            )
        chosen[TASK_KEYS[key.strip()]] = dataset.strip()
    return chosen


def plan(
    common: dict[str, Any],
    quick: bool = False,
    datasets: str | None = None,
    compare_architectures: bool = False,
) -> list[RunConfig]:
    """Returns the configs `train-all` runs, in order.

    Args:
        common: options every run shares (output_dir, data_dir, seed, quiet, debug).
        quick: use the `QUICK` settings. Defaults to False.
        datasets: `TASK=DATASET,...` replacing the embedded defaults. Defaults to none.
        compare_architectures: also train the dense variant of image-classify and sentiment,
            with the same seed and hence the same splits. Defaults to False.
    """
    chosen = parse_datasets(datasets)
    configs = []
    for config_class in SUITE:
        options = {**common, **(QUICK[config_class] if quick else {})}
        if config_class in chosen:
            options["dataset"] = chosen[config_class]
        configs.append(config_class(**options))
        if compare_architectures and config_class is not RegressConfig:
            configs.append(config_class(**options, architecture="dense"))
    return configs
