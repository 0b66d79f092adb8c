"""The image classifier on a pretrained backbone, and its two training phases.

The model is raw uint8 images → [augmentation] → the backbone (its preprocessing inside, then
GlobalAveragePooling2D) → Dropout → Dense(softmax) named `predictions`, so the SavedModel
still takes the images as the one reader reads them. Training follows TensorFlow's
transfer-learning tutorial (`site/en/tutorials/images/transfer_learning.ipynb`) and keras-io's
"Image classification via fine-tuning with EfficientNet":

1. `head`: the backbone frozen (BatchNormalization in inference mode), the new head trains at
   `--learning-rate` for up to `--epochs`; with `--cache-features` (the default) on the
   backbone's features computed once, since on a CPU the frozen backbone costs nearly all of
   an epoch and computes the same features every time (augmentation aside);
2. `fine_tune`: the top `--fine-tune-layers` of the backbone train with the head at
   `--fine-tune-learning-rate`, on augmented images, for up to `--fine-tune-epochs`.

Both phases stop early on the validation loss; `tfapps.phases` runs and resumes them. Each
phase fits a model object of its own over the shared layers: the head phase `head` (on cached
features) or a functional model over the classifier's graph, fine-tuning the classifier
itself. Keras leaves the epoch a resumed `fit` restored on the model it fit, for every later
`fit` of that model to start from.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
from keras import layers

from tfapps.tasks.classifiers import classifier_head
from tfapps.tasks.image_model import augmentation
from tfapps.tasks.task_model import Phase, TaskModel, compile_model

if TYPE_CHECKING:
    from tfapps.data.splits import Splits
    from tfapps.tasks.image import ImageClassifyConfig

# The head's epochs on the frozen backbone, and fine-tuning's (docs/REFERENCE.md, "Pretrained
# backbones").
HEAD_EPOCHS = 40
FINE_TUNE_EPOCHS = 2
LOSS = "sparse_categorical_crossentropy"


def build_transfer_classifier(
    input_shape: Sequence[int],
    num_classes: int,
    backbone: str,
    dropout: float = 0.5,
    augment: bool = False,
    weights: str | None = "imagenet",
    weights_path: str | None = None,
) -> tuple[keras.Model, keras.Model, keras.Model]:
    """Builds raw uint8 images → [augmentation] → backbone → GlobalAveragePooling2D →
    Dropout → Dense(softmax).

    Args:
        input_shape: `(height, width, channels)` of the uint8 images (1 or 3 channels).
        num_classes: classes of the softmax layer.
        backbone: a name of `tfapps.backbones.BACKBONES`.
        dropout: the head's dropout rate. Defaults to 0.5.
        augment: add `image_model.augmentation` before the backbone. Defaults to False.
        weights: `"imagenet"` or `None` (random), as `backbones.build_backbone` takes them.
            Defaults to `"imagenet"`.
        weights_path: a local file of the backbone's weights. Defaults to none.

    Returns:
        `(model, backbone, head)`: the classifier; its backbone (a nested model named after
        it, ending in the pooled features, `(batch, channels)` float32); and the head alone,
        features in, its layers shared with the classifier.

    Raises:
        InvalidInput: the images do not fit the backbone, or its weights cannot be had.
    """
    from tfapps.backbones import build_backbone

    base = build_backbone(
        backbone, tuple(input_shape), weights=weights, weights_path=weights_path, pooling="avg"
    )
    features = keras.Input(shape=base.output.shape[1:], name="features")
    drop = layers.Dropout(dropout, name="dropout")
    head = keras.Model(
        features, classifier_head(drop(features), num_classes, binary_sigmoid=False), name="head"
    )
    images = keras.Input(shape=tuple(input_shape), dtype="uint8", name="images")
    x = augmentation(images) if augment else images
    outputs = head.get_layer("predictions")(drop(base(x)))
    model = keras.Model(images, outputs, name=f"image_{backbone}_classifier")
    return model, base, head


def fine_tune_layers(backbone: keras.Model) -> int:
    """The automatic `--fine-tune-layers`: the backbone's layers from its last strided
    convolution on, counted from its output: every layer at its final resolution, the top
    stage of blocks and the head convolution (EfficientNet-Lite0: from `block11_dwconv`, 47
    of its 152 layers; MobileNetV3Small 45, EfficientNetB0 72).

    On the flower photos this trained to 0.93-0.94 test accuracy in 2 epochs, where the last
    block alone (12 layers) or 20 layers gained less (docs/REFERENCE.md, "Pretrained
    backbones").
    """
    strided = [
        index
        for index, layer in enumerate(backbone.layers)
        if max(getattr(layer, "strides", None) or (1,)) > 1
    ]
    return len(backbone.layers) - strided[-1]


@functools.cache
def backbone_layers(name: str, channels: int = 3) -> tuple[int, int]:
    """`(automatic --fine-tune-layers, all layers)` of a backbone (`fine_tune_layers`), read
    off one built at the smallest size with random weights (a layer count does not depend on
    the size or the weights); built once per process.

    Args:
        name: a key of `tfapps.backbones.BACKBONES`.
        channels: the images' channels (1 or 3). Defaults to 3.
    """
    from tfapps.backbones import MIN_SIZE, build_backbone

    shape = (MIN_SIZE, MIN_SIZE, channels)
    backbone = build_backbone(name, shape, weights=None, pooling="avg")  # as the classifier's
    return fine_tune_layers(backbone), len(backbone.layers)


def transfer_task_model(config: ImageClassifyConfig, splits: Splits, augment: bool) -> TaskModel:
    """The classifier on `splits.info.spec.backbone`, compiled, with its two phases.

    Args:
        config: the run's options.
        splits: the data (input shape, classes, the chosen backbone).
        augment: whether the model augments its training images.
    """
    from tfapps.backbones import freeze_backbone, unfreeze_top

    spec = splits.info.spec
    name = spec.backbone
    model, backbone, head = build_transfer_classifier(
        spec.input_shape,
        len(splits.info.class_names),
        name,
        dropout=config.dropout,
        augment=augment,
        weights_path=config.backbone_weights,
    )
    layers_trained = config.fine_tune_layers or fine_tune_layers(backbone)
    head_epochs = config.epochs or HEAD_EPOCHS
    fine_tune_epochs = config.fine_tune_epochs
    fine_tune_epochs = FINE_TUNE_EPOCHS if fine_tune_epochs is None else fine_tune_epochs
    if layers_trained > len(backbone.layers):
        unfreeze_top(backbone, layers_trained)  # refuses it, naming the backbone's layers

    def enter_head() -> keras.Model:
        freeze_backbone(backbone)
        if config.cache_features:
            trained = head
        else:  # the classifier's layers in a model of its own, which fine-tuning never fits
            trained = keras.Model(model.inputs, model.outputs, name=f"{model.name}_head_phase")
        compile_model(trained, config, LOSS, ["accuracy"])
        return trained

    def enter_fine_tune() -> keras.Model:
        unfreeze_top(backbone, layers_trained)
        rate = config.fine_tune_learning_rate
        compile_model(model, config, LOSS, ["accuracy"], learning_rate=rate)
        return model

    phases = [
        Phase(
            "head",
            head_epochs,
            enter_head,
            features=backbone if config.cache_features else None,
            facts={"learning_rate": config.learning_rate, "backbone_layers_trained": 0},
        )
    ]
    if fine_tune_epochs:
        phases.append(
            Phase(
                "fine_tune",
                fine_tune_epochs,
                enter_fine_tune,
                facts={
                    "learning_rate": config.fine_tune_learning_rate,
                    "backbone_layers_trained": layers_trained,
                },
                epochs_option="fine_tune_epochs",
            )
        )
    freeze_backbone(backbone)
    compile_model(model, config, LOSS, ["accuracy"])
    architecture = {
        "backbone": name,
        "backbone_weights": config.backbone_weights or "imagenet",
        "augment": augment,
    }
    return TaskModel(model, architecture=architecture, epochs=head_epochs, phases=phases)
