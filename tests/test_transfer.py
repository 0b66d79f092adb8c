"""`tfapps image-classify --backbone`: the model on a pretrained backbone, its choices for the
data, and its two training phases end to end (freezing, fine-tuning, resume in either phase,
streamed folders, SavedModel, predict, evaluate, serve, export).

Backbones here start from random weights kept in a weights file, which `--backbone-weights`
loads through the same path as ImageNet's, on tiny images (32x32), so a run takes seconds.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from interrupting import InterruptAt
from PIL import Image

from tfapps import runs
from tfapps.backbones import BACKBONES
from tfapps.tasks import get_task
from tfapps.tasks.image import ImageClassifyConfig
from tfapps.tasks.image_backbone import NO_BACKBONE, PHOTO_BACKBONE
from tfapps.tasks.transfer_model import build_transfer_classifier

SIZE = (32, 32)
COLOURS = {"red": (200, 40, 40), "green": (40, 190, 50), "blue": (40, 50, 210)}
TIMEOUT = 600  # seconds; a loaded machine takes minutes to start TensorFlow twice
HEAD_RATE = ImageClassifyConfig(dataset="x").learning_rate
FINE_TUNE_RATE = ImageClassifyConfig(dataset="x").fine_tune_learning_rate


def write_colour_folder(root: Path, per_class: int = 10, size=(40, 40)) -> Path:
    """`root/<colour>/<i>.png`: RGB images of a class colour with noise."""
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            noise = rng.normal(0, 25, (*size, 3))
            pixels = np.clip(np.asarray(colour)[None, None] + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> dict[str, Path]:
    """Random-initialised weights files, as `--backbone-weights` takes them: Lite0's whole
    classifier (as tfapps converts it) and MobileNetV3Small without its top (as Keras ships
    it)."""
    from tfapps.backbones.efficientnet_lite import efficientnet_lite0

    folder = tmp_path_factory.mktemp("weights")
    keras.utils.set_random_seed(0)
    efficientnet_lite0(weights=None).save_weights(folder / "lite0.weights.h5")
    small = keras.applications.MobileNetV3Small(include_top=False, weights=None)
    small.save_weights(folder / "mobilenet_v3_small.weights.h5")
    return {
        "efficientnet_lite0": folder / "lite0.weights.h5",
        "mobilenet_v3_small": folder / "mobilenet_v3_small.weights.h5",
    }


def _config(folder: Path, output: Path, weights: dict, **options) -> ImageClassifyConfig:
    backbone = options.pop("backbone", "efficientnet_lite0")
    settings = {
        "dataset": str(folder),
        "backbone": backbone,
        "backbone_weights": str(weights[backbone]),
        "image_size": SIZE,
        "epochs": 2,
        "fine_tune_epochs": 1,
        "batch_size": 8,
        "quiet": True,
        "output_dir": str(output),
    }
    return ImageClassifyConfig(**(settings | options))


# --- choices for the data (no training) -------------------------------------------------------


def test_the_backbone_and_input_size_follow_the_data(monkeypatch):
    from tfapps.tasks import image_backbone

    config = ImageClassifyConfig(dataset="x")
    assert config.model_input((8, 8)) == ((8, 8), NO_BACKBONE)  # digits keep the convnet
    assert config.model_input((32, 32)) == ((32, 32), NO_BACKBONE)
    monkeypatch.setattr(image_backbone, "photo_backbone_installed", lambda: True)
    assert config.model_input((300, 200)) == ((224, 224), PHOTO_BACKBONE)
    assert config.model_input(None) == ((224, 224), PHOTO_BACKBONE)  # sizes vary: photos
    assert "automatic for photos" in config.model_note((300, 200), PHOTO_BACKBONE)
    sized = ImageClassifyConfig(dataset="x", image_size=(96, 128))
    assert sized.model_input((300, 200)) == ((96, 128), PHOTO_BACKBONE)
    dense = ImageClassifyConfig(dataset="x", architecture="dense")
    assert dense.model_input((300, 200)) == ((180, 180), NO_BACKBONE)
    chosen = ImageClassifyConfig(dataset="x", backbone="mobilenet_v3_small")
    assert chosen.model_input((8, 8)) == ((224, 224), "mobilenet_v3_small")

    monkeypatch.setattr(image_backbone, "photo_backbone_installed", lambda: False)
    assert config.model_input((300, 200)) == ((180, 180), NO_BACKBONE)
    note = config.model_note((300, 200), NO_BACKBONE)
    assert "--backbone" in note and "pip install 'tfapps[pretrained]'" in note
    assert "\n" not in note
    assert config.model_note((8, 8), NO_BACKBONE) is None  # small images: nothing to say
    explicit = ImageClassifyConfig(dataset="x", backbone="none")
    assert explicit.model_note((300, 200), NO_BACKBONE) is None  # asked for


def test_a_from_scratch_photo_run_prints_one_line_naming_backbone(tmp_path, monkeypatch, caplog):
    import logging

    from tfapps.data.load import load_splits
    from tfapps.tasks import image_backbone

    monkeypatch.setattr(image_backbone, "photo_backbone_installed", lambda: False)
    folder = write_colour_folder(tmp_path / "photos", per_class=4, size=(200, 240))
    with caplog.at_level(logging.INFO, logger="tfapps"):
        splits = load_splits(ImageClassifyConfig(dataset=str(folder), quiet=True))
    assert splits.info.spec.backbone == NO_BACKBONE
    assert splits.info.spec.input_shape == [180, 180, 3]
    lines = [r.getMessage() for r in caplog.records if "--backbone" in r.getMessage()]
    assert len(lines) == 1 and "from scratch" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BACKBONES))
def test_the_classifier_takes_raw_uint8_and_fine_tunes_its_final_resolution(name):
    from tfapps.tasks.transfer_model import backbone_layers, fine_tune_layers

    model, backbone, head = build_transfer_classifier((*SIZE, 3), 3, name, weights=None)
    images = np.random.default_rng(0).integers(0, 256, (2, *SIZE, 3), dtype=np.uint8)
    outputs = model(images, training=False).numpy()
    assert model.input.dtype == "uint8" and outputs.shape == (2, 3)
    assert model.layers[-1].name == "predictions"
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-5)
    features = backbone(images, training=False)
    np.testing.assert_allclose(head(features, training=False), outputs, atol=1e-6)  # shared
    count = fine_tune_layers(backbone)
    first, *rest = backbone.layers[-count:]
    assert isinstance(first, keras.layers.DepthwiseConv2D) and first.strides == (2, 2)
    assert not any(max(getattr(layer, "strides", None) or (1,)) > 1 for layer in rest)
    assert 0.2 < count / len(backbone.layers) < 0.5, count  # the top fifth to half
    assert backbone_layers(name) == (count, len(backbone.layers))  # what tune's knob starts at


@pytest.mark.slow
def test_the_keras_file_keeps_the_shared_head_and_the_augmentation(tmp_path):
    model, _, _ = build_transfer_classifier(
        (*SIZE, 3), 2, "efficientnet_lite0", augment=True, weights=None
    )
    images = np.random.default_rng(1).integers(0, 256, (3, *SIZE, 3), dtype=np.uint8)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(  # at inference, as serving and predict call it
        loaded(images, training=False), model(images, training=False), atol=1e-6
    )
    assert [layer.name for layer in loaded.layers][-2:] == ["dropout", "predictions"]


def test_an_interrupted_phased_run_lists_its_epochs_across_phases(tmp_path):
    from tfapps.keras_internals import BACKUP_METADATA

    backup = tmp_path / runs.BACKUP_DIR
    assert runs.finished_epochs(tmp_path) == 0
    (backup / "fine_tune").mkdir(parents=True)
    record = {"name": "head", "first_epoch": 0, "epochs_run": 7, "epochs_planned": 40}
    record |= {"features_cached": True, "val_loss": 0.3}
    (backup / runs.PHASES_JSON).write_text(json.dumps([record]))
    assert runs.finished_epochs(tmp_path) == 7  # between the phases
    (backup / "fine_tune" / BACKUP_METADATA).write_text('{"epoch": 9, "batch": 0}')
    assert runs.finished_epochs(tmp_path) == 9  # in the second
    (backup / runs.PHASES_JSON).write_text('[{"name": "he')  # cut short by a kill
    assert runs.read_phases(backup) == []


@pytest.mark.slow
def test_weights_that_cannot_be_downloaded_are_refused_before_the_run(
    run_cli, tmp_path, monkeypatch, data_dir
):
    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- no network")  # as Keras'

    monkeypatch.setattr(keras.utils, "get_file", offline)
    output = tmp_path / "out"
    result = run_cli(
        "image-classify",
        "--backbone",
        "mobilenet_v3_small",
        "--quiet",
        "--data-dir",
        data_dir,
        "--output-dir",
        output,
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--backbone-weights PATH" in lines[0], result.stderr
    assert not (output / "image-classify").exists()


def _backbone_space(config: ImageClassifyConfig, on_machine=(PHOTO_BACKBONE,), monkeypatch=None):
    """tune's space for `config` on Lite0 at 32x32, with the backbones `on_machine` counted
    as having their weights here."""
    import tfapps.backbones
    from tfapps.data.info import DatasetInfo
    from tfapps.data.specs import ImageSpec
    from tfapps.tune.options import TuneOptions
    from tfapps.tune.search import declare_space

    monkeypatch.setattr(tfapps.backbones, "weights_on_machine", lambda name: name in on_machine)
    spec = ImageSpec([*SIZE, 3], backbone=PHOTO_BACKBONE)
    info = DatasetInfo(name="d", source="local", sizes={"train": 30}, spec=spec)
    return declare_space(get_task("image-classify"), config, info, TuneOptions()), info


@pytest.mark.slow
def test_a_search_on_a_backbone_tunes_it_and_its_fine_tuning_not_the_convnet(monkeypatch, tmp_path):
    from tfapps.tune.space import Space

    config = ImageClassifyConfig(dataset="d", image_size=SIZE)
    space, info = _backbone_space(config, (PHOTO_BACKBONE, "mobilenet_v3_small"), monkeypatch)
    knobs = space.knobs
    assert set(knobs) == {
        "backbone", "fine_tune_layers", "fine_tune_learning_rate", "dropout", "augment",
        "learning_rate",
    }  # fmt: skip
    assert knobs["backbone"].values == ("mobilenet_v3_small", PHOTO_BACKBONE)
    assert knobs["backbone"].default == PHOTO_BACKBONE
    assert knobs["fine_tune_layers"].values == (23, 47, 94)  # Lite0's automatic 47
    assert knobs["fine_tune_layers"].default == 47
    task = get_task("image-classify")
    moved = space.hp.copy()
    moved.values.update(backbone="mobilenet_v3_small", fine_tune_layers=94)
    trial = task.search_space(Space(moved), config, info)
    assert (trial.backbone, trial.fine_tune_layers) == ("mobilenet_v3_small", 94)
    assert task.tuned_info(trial, info).spec.backbone == "mobilenet_v3_small"
    assert task.tuned_info(config, info) is info  # the defaults' trial reads the data as read

    (tmp_path / "lite0.weights.h5").write_bytes(b"")
    with_file = dataclasses.replace(
        config, backbone=PHOTO_BACKBONE, backbone_weights=str(tmp_path / "lite0.weights.h5")
    )
    space, _ = _backbone_space(with_file, (PHOTO_BACKBONE, "mobilenet_v3_small"), monkeypatch)
    assert space.knobs["backbone"].values == (PHOTO_BACKBONE,)  # the file is Lite0's
    no_fine_tuning = dataclasses.replace(config, fine_tune_epochs=0)
    space, _ = _backbone_space(no_fine_tuning, monkeypatch=monkeypatch)
    assert "fine_tune_layers" not in space.knobs
    assert "fine_tune_learning_rate" not in space.knobs


# --- training -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backbone_run(tmp_path_factory, random_weights):
    """A finished run: Lite0 (random weights), 2 epochs of the head on cached features, then
    1 of fine-tuning on augmented images."""
    from tfapps.api import train

    root = tmp_path_factory.mktemp("backbone")
    folder = write_colour_folder(root / "colours")
    config = _config(folder, root / "runs", random_weights, augment=True)
    return train(config), folder


@pytest.mark.slow
def test_both_phases_run_and_are_recorded(backbone_run, random_weights):
    result, _ = backbone_run
    record = json.loads((result.run_dir / "run.json").read_text())
    training = record["training"]
    assert training["backbone"] == "efficientnet_lite0" and training["augment"] is True
    assert training["backbone_weights"] == str(random_weights["efficientnet_lite0"])
    head, fine_tune = training["phases"]
    assert head["name"] == "head" and head["features_cached"] is True
    assert head["first_epoch"] == 0 and head["epochs_run"] == 2
    assert head["backbone_layers_trained"] == 0
    assert fine_tune["name"] == "fine_tune" and fine_tune["features_cached"] is False
    assert fine_tune["first_epoch"] == 2 and fine_tune["epochs_run"] == 1
    assert fine_tune["backbone_layers_trained"] == 47
    assert [phase["kept"] for phase in training["phases"]].count(True) == 1
    assert training["epochs_run"] == 3 and training["epochs_planned"] == 3
    history = pd.read_csv(result.run_dir / "history.csv")
    assert list(history["epoch"]) == [0, 1, 2]
    assert np.allclose(history["learning_rate"], [HEAD_RATE] * 2 + [FINE_TUNE_RATE])
    assert record["dataset"]["spec"]["input_shape"] == [*SIZE, 3]
    assert record["dataset"]["spec"]["backbone"] == "efficientnet_lite0"
    assert not (result.run_dir / runs.BACKUP_DIR).exists()
    summary = pd.read_csv(result.run_dir.parents[2] / "summary.csv")
    assert list(summary["architecture"]) == ["efficientnet_lite0"]


@pytest.mark.slow
def test_a_tuned_backbone_run_fine_tunes_the_layers_of_its_best_trial(tmp_path, random_weights):
    """Two trials on Lite0 (random weights) fine-tuning 12 or 94 layers; the final model on
    train + validation fine-tunes as many as the best trial did."""
    from tfapps.tune.options import TuneOptions
    from tfapps.tune.run import tune

    folder = write_colour_folder(tmp_path / "colours")
    config = _config(folder, tmp_path / "runs", random_weights, epochs=1)
    options = TuneOptions(tuner="random", max_trials=2, space=("fine_tune_layers=12,94",))
    result = tune(config, options)
    record = json.loads((result.run_dir / runs.RUN_JSON).read_text())
    search = result.run_dir / runs.SEARCH_DIR
    trials = [json.loads(path.read_text()) for path in search.glob("trial_*/record.json")]
    trials.sort(key=lambda trial: trial["trial"])
    assert [trial["status"] for trial in trials] == ["complete", "complete"]
    assert trials[0]["settings"]["fine_tune_layers"] == 12  # the allowed value nearest 47
    assert {trial["settings"]["backbone"] for trial in trials} == {PHOTO_BACKBONE}
    knobs = [knob.split(":")[0] for knob in record["tune"]["knobs"]]
    assert "fine_tune_layers" in knobs and "blocks" not in knobs
    best = trials[record["tune"]["best_trial"] - 1]
    epochs = best["phase_epochs"]  # each phase's best epochs, none after the kept phase
    assert set(epochs) == {"epochs", "fine_tune_epochs"} and epochs["epochs"] == 1
    assert {option: record["config"][option] for option in epochs} == epochs
    phases = record["training"]["phases"]
    assert [phase["name"] for phase in phases] == ["head", "fine_tune"][
        : 1 + bool(epochs["fine_tune_epochs"])
    ]
    assert phases[-1]["kept"] and phases[-1]["val_loss"] is None  # no validation split left
    if epochs["fine_tune_epochs"]:
        assert phases[1]["backbone_layers_trained"] == best["settings"]["fine_tune_layers"]
    assert record["config"]["fine_tune_layers"] == best["settings"]["fine_tune_layers"]
    assert record["dataset"]["spec"]["backbone"] == PHOTO_BACKBONE
    assert (result.run_dir / runs.SAVED_MODEL_DIR).is_dir()


@pytest.mark.slow
def test_the_saved_model_takes_raw_uint8_and_predict_reads_files(backbone_run, run_cli, tmp_path):
    import tensorflow as tf

    result, folder = backbone_run
    images = np.stack([np.asarray(Image.open(folder / name / "0.png")) for name in COLOURS])
    images = np.stack([np.asarray(Image.fromarray(i).resize(SIZE[::-1])) for i in images])
    serving = tf.saved_model.load(str(result.run_dir / "saved_model"))
    served = serving.signatures["serving_default"](images=tf.constant(images))["predictions"]
    keras_model = keras.models.load_model(result.run_dir / "model.keras", safe_mode=True)
    for model in (keras_model, result.model):  # at inference, as serving calls it
        np.testing.assert_allclose(served.numpy(), model(images, training=False), atol=1e-5)

    predicted = run_cli("predict", result.run_dir, folder / "red", "--output", tmp_path / "p.csv")
    assert predicted.exit_code == 0, predicted.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == 10
    evaluated = run_cli("evaluate", result.run_dir, "--dataset", folder)
    assert evaluated.exit_code == 0, evaluated.output


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "file"), [("onnx", "model.onnx"), ("litert", "model.tflite")])
def test_exports_agree_in_their_runtimes(backbone_run, run_cli, tmp_path, fmt, file):
    result, _ = backbone_run
    exported = run_cli("export", result.run_dir, "--format", fmt, "--output", tmp_path)
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / file).is_file()
    entry = json.loads((result.run_dir / "run.json").read_text())["exports"][-1]
    assert entry["format"] == fmt and entry["same_classes"] == 1.0
    assert entry["max_difference"] <= 1e-4


@pytest.mark.slow
def test_serve_answers_an_image_file_as_predict_does(backbone_run, tmp_path):
    import threading

    import uvicorn
    from test_serve import _free_port, call

    from tfapps import serve
    from tfapps.predict import load_run

    result, folder = backbone_run
    photo = folder / "green" / "1.png"
    Image.open(photo).resize((50, 70)).save(tmp_path / "other_size.jpg")
    run = load_run(result.run_dir)
    from tfapps.tasks import get_task

    _, inputs = get_task(run.task).read_inputs(run.record, run.input_names, [str(photo)])
    expected = run.signature(**inputs)["predictions"].numpy()
    port = _free_port()
    app = serve.create_app(serve.load_models([result.run_dir]))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        body = {"instances": [{"b64": base64.b64encode(photo.read_bytes()).decode()}]}
        status, answer = call({"port": port}, "POST", "/v1/models/image-classify:predict", body)
        assert status == 200
        np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-5)
        other = {
            "instances": [
                {"b64": base64.b64encode((tmp_path / "other_size.jpg").read_bytes()).decode()}
            ]
        }
        status, answer = call({"port": port}, "POST", "/v1/models/image-classify:predict", other)
        assert status == 200 and np.asarray(answer["predictions"]).shape == (1, 3)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_a_frozen_backbone_keeps_its_weights_whatever_the_head_trains_on(tmp_path, random_weights):
    """Without fine-tuning, the trained model's backbone is the weights file's, whether the
    head trained on cached features or on the frozen backbone with augmentation."""
    from tfapps.api import train
    from tfapps.backbones import build_backbone

    folder = write_colour_folder(tmp_path / "colours", per_class=6)
    original = build_backbone(
        "efficientnet_lite0", (*SIZE, 3), weights_path=random_weights["efficientnet_lite0"]
    )
    for cache in (True, False):
        config = _config(
            folder,
            tmp_path / f"runs-{cache}",
            random_weights,
            epochs=1,
            fine_tune_epochs=0,
            cache_features=cache,
            augment=True,
        )
        result = train(config)
        trained = result.model.get_layer("efficientnet_lite0")
        for weight, expected in zip(trained.weights, original.weights, strict=True):
            np.testing.assert_array_equal(weight.numpy(), expected.numpy(), err_msg=weight.path)
        (phase,) = json.loads((result.run_dir / "run.json").read_text())["training"]["phases"]
        assert phase["features_cached"] is cache and phase["kept"] is True


@pytest.mark.slow
@pytest.mark.parametrize("plan", ["disk", "none"])
def test_streamed_folders_train_both_phases(tmp_path, random_weights, monkeypatch, plan):
    from tfapps.api import train
    from tfapps.data import image_decoding

    monkeypatch.setattr(image_decoding, "MEMORY_BUDGET_LIMIT", 0)  # larger than memory
    if plan == "none":
        monkeypatch.setattr(image_decoding, "DISK_HEADROOM", float("inf"))  # and the disk
    folder = write_colour_folder(tmp_path / "colours", per_class=6)
    result = train(_config(folder, tmp_path / "runs", random_weights, epochs=1))
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["dataset"]["spec"]["cache"] == plan
    assert [p["name"] for p in record["training"]["phases"]] == ["head", "fine_tune"]


@pytest.mark.slow
def test_a_keras_application_trains_under_mirrored_replicas(tmp_path, random_weights):
    """MobileNetV3Small over two logical CPUs (a process of its own: the devices are set
    before TensorFlow starts)."""
    folder = write_colour_folder(tmp_path / "colours", per_class=20)
    output = tmp_path / "out"
    args = _train_args(folder, output, random_weights["mobilenet_v3_small"], "mobilenet_v3_small")
    # Every split holds at least one global batch (4 × 2): Keras 3.15 builds a model under a
    # distribution strategy from the first batch summed over the replicas
    # (`_maybe_symbolic_build`), which fails when that batch cannot be split evenly, as a
    # validation split of 3 in one batch of 8 would (an AddN of unequal shapes).
    args += ["--strategy", "mirrored", "--cpu-replicas", "2", "--fine-tune-epochs", "1"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    (record_path,) = output.glob("image-classify/colours/*/run.json")
    record = json.loads(record_path.read_text())
    assert record["compute"]["replicas"] == 2
    assert record["training"]["phases"][1]["backbone_layers_trained"] == 45


def _train_args(
    folder: Path, output: Path, weights: Path, backbone: str = "efficientnet_lite0"
) -> list[str]:
    """The command line of a small run; a later `--fine-tune-epochs` overrides the 6 here."""
    return [
        sys.executable,
        "-m",
        "tfapps",
        "image-classify",
        "--dataset",
        str(folder),
        "--backbone",
        backbone,
        "--backbone-weights",
        str(weights),
        "--image-size",
        "32x32",
        "--epochs",
        "2",
        "--fine-tune-epochs",
        "6",
        "--patience",
        "50",
        "--batch-size",
        "4",
        "--checkpoint-seconds",
        "0",
        "--quiet",
        "--output-dir",
        str(output),
    ]


@pytest.mark.slow
def test_a_head_resumed_on_images_leaves_fine_tuning_its_own_epochs(tmp_path, random_weights):
    """Without cached features both phases train on images; a head phase resumed from its
    checkpoint must not hand its restored epoch on to fine-tuning (Keras keeps it on the
    model a checkpoint was restored into, for every later `fit` of that model)."""
    from tfapps.api import train
    from tfapps.errors import Interrupted

    folder = write_colour_folder(tmp_path / "colours", per_class=6)
    config = _config(
        folder,
        tmp_path / "runs",
        random_weights,
        epochs=3,
        fine_tune_epochs=2,
        cache_features=False,
        patience=50,
        checkpoint_seconds=0,
    )
    with pytest.raises(Interrupted):
        train(config, callbacks=[InterruptAt(2)])
    result = train(config, resume="latest")
    history = pd.read_csv(result.run_dir / "history.csv")
    assert list(history["epoch"]) == list(range(5))  # no gap, no repeat, across phases
    assert np.allclose(history["learning_rate"], [HEAD_RATE] * 3 + [FINE_TUNE_RATE] * 2)
    record = json.loads((result.run_dir / "run.json").read_text())
    head, fine_tune = record["training"]["phases"]
    assert head["features_cached"] is False and len(record["resumed_at"]) == 1
    assert (head["first_epoch"], head["epochs_run"]) == (0, 3)
    assert (fine_tune["first_epoch"], fine_tune["epochs_run"]) == (3, 2)


@pytest.mark.slow
def test_a_run_killed_while_fine_tuning_resumes_in_that_phase(tmp_path, random_weights):
    folder = write_colour_folder(tmp_path / "colours", per_class=6)
    output = tmp_path / "out"
    args = _train_args(folder, output, random_weights["efficientnet_lite0"])
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT
    run_dir = None
    while time.monotonic() < deadline:
        metadata = list(output.glob("image-classify/colours/*.incomplete/backup/fine_tune/*.json"))
        if metadata and runs.finished_epochs(metadata[0].parents[2]) >= 4:
            run_dir = metadata[0].parents[2]
            break
        if process.poll() is not None:
            pytest.fail(f"training ended before fine-tuning: {process.communicate()}")
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=TIMEOUT)
    assert run_dir is not None, "fine-tuning did not reach its second epoch in time"
    head_weights = run_dir / runs.BACKUP_DIR / "head.weights.h5"
    assert head_weights.is_file() and not (run_dir / runs.BACKUP_DIR / "head").exists()
    done = runs.finished_epochs(run_dir)

    resumed = subprocess.run(
        [*args, "--resume", "latest"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert resumed.returncode == 0, resumed.stderr
    final = run_dir.with_name(run_dir.name.removesuffix(runs.INCOMPLETE_SUFFIX))
    history = pd.read_csv(final / "history.csv")
    assert list(history["epoch"]) == list(range(8))  # no gap, no repeat, across phases
    assert np.allclose(history["learning_rate"], [HEAD_RATE] * 2 + [FINE_TUNE_RATE] * 6)
    record = json.loads((final / "run.json").read_text())
    head, fine_tune = record["training"]["phases"]
    assert (head["first_epoch"], head["epochs_run"]) == (0, 2)
    assert (fine_tune["first_epoch"], fine_tune["epochs_run"]) == (2, 6)
    assert len(record["resumed_at"]) == 1 and done >= 4


@pytest.mark.slow
def test_a_tfds_photo_dataset_takes_the_backbone_and_its_size(run_cli, tmp_path, random_weights):
    """tf_flowers (faked by `tfds.testing.mock_data`): images of varied sizes, fitted to the
    size the backbone asks for."""
    from conftest import train_on_mocked_catalog

    record = train_on_mocked_catalog(
        run_cli,
        "image-classify",
        "tf_flowers",
        tmp_path,
        "--backbone",
        "efficientnet_lite0",
        "--backbone-weights",
        random_weights["efficientnet_lite0"],
        "--image-size",
        "32x32",
        "--fine-tune-epochs",
        "1",
    )
    assert record["dataset"]["spec"]["backbone"] == "efficientnet_lite0"
    assert record["dataset"]["spec"]["input_shape"] == [32, 32, 3]
    assert [phase["name"] for phase in record["training"]["phases"]] == ["head", "fine_tune"]
