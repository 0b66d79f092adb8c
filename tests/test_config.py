"""RunConfig validation (Keras-style one-line messages) and its JSON round trip."""

import json

import pytest

from tfapps.errors import InvalidInput
from tfapps.tasks import config_from_dict
from tfapps.tasks.image import ImageClassifyConfig


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("epochs", 0, "--epochs"),
        ("batch_size", -1, "--batch-size"),
        ("learning_rate", 0.0, "--learning-rate"),
        ("validation_split", 1.0, "--validation-split"),
        ("validation_split", 0.0, "--validation-split"),
        ("validation_split", float("nan"), "--validation-split"),
        ("max_examples", 3, "--max-examples"),
        ("start_from_epoch", -1, "--start-from-epoch"),
        ("precision", "float8", "--precision"),
        ("device", "tpu", "--device"),
        ("filters", (32, 0), "--filters"),
        ("dropout", 1.0, "--dropout"),
        ("image_size", (28,), "--image-size"),
    ],
)
def test_bad_values_name_the_option_and_the_value(field, value, option):
    with pytest.raises(InvalidInput) as caught:
        ImageClassifyConfig(**{field: value})
    message = str(caught.value)
    assert option in message
    assert "Received:" in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_json_round_trip_restores_an_equal_config():
    config = ImageClassifyConfig(
        dataset="mnist", epochs=3, filters=(8, 16, 32), image_size=(28, 28)
    )
    restored = config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config
    assert isinstance(restored, ImageClassifyConfig)


def test_unknown_task_in_a_saved_config_is_refused():
    with pytest.raises(InvalidInput, match="Unknown task"):
        config_from_dict({"task": "translate", "dataset": "x"})
