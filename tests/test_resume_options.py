"""A resume repeats the interrupted run's options, also for runs recorded by older versions."""

import json
import shlex

import pytest

from tfapps.cli import main
from tfapps.config import CONFIG_CLASSES, ImageConfig, RegressConfig, RunConfig, TextConfig
from tfapps.errors import InvalidInput
from tfapps.recording import check_same_options


def _recorded(config: RunConfig, *missing: str) -> dict:
    """The config as run.json holds it, without the options an older version did not have."""
    values = json.loads(json.dumps(config.to_dict()))
    for name in missing:
        del values[name]
    return values


def _parsed(command: str) -> RunConfig:
    """The config the CLI builds from a printed command line, without running it."""
    _, task, *args = shlex.split(command)
    with main.commands[task].make_context(task, args) as context:
        options = dict(context.params)
    assert options.pop("resume") == "run-1"
    return CONFIG_CLASSES[task](**options)


@pytest.mark.parametrize(
    "config",
    [
        ImageConfig(filters=(8, 16), image_size=(28, 28), epochs=3, seed=7),
        TextConfig(length_batches=False, start_from_epoch=2, max_examples=500),
        RegressConfig(categorical=("Origin", "Cylinders"), start_from_epoch=0, patience=5),
    ],
)
def test_the_printed_resume_command_rebuilds_the_same_options(config):
    assert _parsed(config.resume_command("run-1")) == config


def test_options_recorded_by_the_run_are_kept():
    assert RunConfig.from_dict(_recorded(RegressConfig())).start_from_epoch == 100
    assert RunConfig.from_dict(_recorded(TextConfig())).length_batches is True


def test_a_run_recorded_before_an_option_existed_resumes_as_it_was_started():
    regress = RunConfig.from_dict(_recorded(RegressConfig(), "start_from_epoch"))
    text = RunConfig.from_dict(_recorded(TextConfig(), "length_batches"))
    assert regress.start_from_epoch == 0  # the default is now 100
    assert text.length_batches is False  # the default is now True
    assert _parsed(regress.resume_command("run-1")) == regress
    assert _parsed(text.resume_command("run-1")) == text


def test_resuming_an_older_run_with_todays_defaults_is_refused_naming_the_option():
    original = RunConfig.from_dict(_recorded(RegressConfig(), "start_from_epoch"))
    with pytest.raises(InvalidInput, match=r"--start-from-epoch 100 \(the run used 0\)"):
        check_same_options(original, RegressConfig(), "run-1")
    check_same_options(original, RegressConfig(start_from_epoch=0), "run-1")
