"""A resume repeats the interrupted run's options."""

import json
import shlex

import pytest

from tfapps.cli import main
from tfapps.config import RunConfig
from tfapps.errors import InvalidInput
from tfapps.recording import check_same_options
from tfapps.tasks import TASKS, config_from_dict
from tfapps.tasks.image import ImageClassifyConfig
from tfapps.tasks.table_regression import RegressConfig
from tfapps.tasks.text import SentimentConfig


def _recorded(config: RunConfig) -> dict:
    """The config as run.json holds it."""
    return json.loads(json.dumps(config.to_dict()))


def _parsed(command: str) -> RunConfig:
    """The config the CLI builds from a printed command line, without running it."""
    _, task, *args = shlex.split(command)
    with main.commands[task].make_context(task, args) as context:
        options = dict(context.params)
    assert options.pop("resume") == "run-1"
    return TASKS[task].config_class(**options)


@pytest.mark.parametrize(
    "config",
    [
        ImageClassifyConfig(filters=(8, 16), image_size=(28, 28), epochs=3, seed=7),
        ImageClassifyConfig(
            backbone="mobilenet_v3_small",
            fine_tune_layers=30,
            fine_tune_epochs=0,
            fine_tune_learning_rate=1e-4,
            cache_features=False,
        ),
        SentimentConfig(length_batches=False, start_from_epoch=2, max_examples=500),
        SentimentConfig(architecture="ngram", ngram_units=32, dropout=0.3),
        RegressConfig(categorical=("Origin", "Cylinders"), start_from_epoch=0, patience=5),
    ],
)
def test_the_printed_resume_command_rebuilds_the_same_options(config):
    assert _parsed(config.resume_command("run-1")) == config


def test_options_recorded_by_the_run_are_kept():
    assert config_from_dict(_recorded(RegressConfig())).start_from_epoch == 100
    assert config_from_dict(_recorded(SentimentConfig())).length_batches is True


def test_resuming_with_other_options_is_refused_naming_the_option():
    original = config_from_dict(_recorded(RegressConfig(start_from_epoch=0)))
    with pytest.raises(InvalidInput, match=r"--start-from-epoch 100 \(the run used 0\)"):
        check_same_options(original, RegressConfig(), "run-1")
    check_same_options(original, RegressConfig(start_from_epoch=0), "run-1")
