"""`tfapps image-classify`: the convnet image classifier, from its options to its served model.

Its data readers are `data.image_data` (TFDS image datasets, local folders); every image a
finished run is given (predict, serve) goes through the one image reader
(`data.images.read_image`) with the run's input size, channels and resize rule
(`image_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tfapps.config import RunConfig
from tfapps.config.fields import documented, option, redefault
from tfapps.config.options import ClassifierOptions
from tfapps.data.embedded import EmbeddedDataset
from tfapps.data.specs import RESIZE_RULES
from tfapps.errors import InvalidInput
from tfapps.tasks.classifiers import ClassifierTask
from tfapps.tasks.image_backbone import NO_BACKBONE, BackboneOptions
from tfapps.tasks.task_model import TaskModel, compile_model

if TYPE_CHECKING:
    import keras
    import numpy as np

    from tfapps.data.info import DatasetInfo
    from tfapps.data.splits import Splits
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord
    from tfapps.serving_requests import InputSpec
    from tfapps.tune.space import Space

ARCHITECTURES = ("conv", "dense")


@documented
@dataclass
class ImageClassifyConfig(BackboneOptions, ClassifierOptions, RunConfig):
    """Options of `tfapps image-classify`, on top of `RunConfig`."""

    task: ClassVar[str] = "image-classify"

    dataset: str = redefault(RunConfig, "dataset", "digits")
    epochs: int | None = redefault(
        RunConfig,
        "epochs",
        None,
        automatic="40 for inputs up to 32 px (digits, MNIST), 15 for larger ones (photos, as "
        "TensorFlow's image classification tutorial trains them; `image_model.auto_epochs`); "
        "with a --backbone, the head's epochs on the frozen backbone "
        "(`transfer_model.HEAD_EPOCHS`)",
    )
    patience: int = redefault(RunConfig, "patience", 8)
    filters: tuple[int, ...] | None = option(
        None,
        "Conv2D filters of each Conv2D → MaxPooling2D block, one block per number "
        "(`--filters 32,64`).",
        automatic="32,64 for inputs up to 32 px (digits, MNIST); for larger inputs one block "
        "per halving of the longer side until the feature map is at most 12 px, with 16, 32, "
        "64, 64, ... filters (`image_model.auto_filters`)",
        example="32,64",
    )
    kernel_size: int = option(3, "side of every Conv2D kernel (3 for 3x3 kernels).", minimum=1)
    dropout: float = option(0.5, "dropout rate before the softmax layer.", rate=True)
    architecture: str = option(
        "conv",
        "the model family: conv (the convnet) or dense (Rescaling → Flatten → Dense(128) → "
        "Dropout → Dense(softmax)), to compare.",
        choices=ARCHITECTURES,
    )
    image_size: tuple[int, int] | None = option(
        None,
        "(height, width) every image is fitted to (`--image-size 28x28`).",
        automatic="with a --backbone, the size its weights were trained at (224x224); else "
        "the dataset's own size when it is at most 180 px on its longer side (for a folder, "
        "its most common size), else 180x180 (photos, as TensorFlow's image classification "
        "tutorial)",
        separator="x",
        example="28x28",
    )
    resize: str = option(
        "stretch",
        "how an image of another aspect ratio is fitted to the input size, the same in "
        "training, evaluate, predict and serve: stretch (scale each side, as Keras' "
        "`image_dataset_from_directory` does), crop (cover the input, then cut the centre "
        "out) or pad (fit inside it, with black borders).",
        choices=RESIZE_RULES,
    )
    augment: bool | None = option(
        None,
        "random horizontal flips, rotations (up to 10% of a turn) and zooms (up to 10%) of "
        "the training images, inside the model and inactive at inference "
        "(`--augment`/`--no-augment`).",
        automatic="on for inputs of at least 64 px on their shorter side (photos), off for "
        "smaller ones (digits, MNIST: a flip changes what a digit means)",
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        from tfapps.config import checks

        super().validate()
        if self.filters is not None:
            self.filters = checks.check_positive_ints(self.filters, "filters", "32,64")
        if self.augment not in (None, True, False):
            raise checks.invalid("augment", "True, False or None (automatic)", self.augment)
        if self.image_size is not None:
            self.image_size = tuple(self.image_size)
            if len(self.image_size) != 2 or not all(
                checks.is_int(s) and s >= 1 for s in self.image_size
            ):
                raise checks.invalid(
                    "image-size",
                    "HEIGHTxWIDTH with both >= 1, such as 28x28",
                    "x".join(map(str, self.image_size)),
                )


class ImageClassifyTask(ClassifierTask):
    """Image classification: uint8 images in, class probabilities out."""

    name = "image-classify"
    config_class = ImageClassifyConfig
    description = """Train a convnet image classifier: Rescaling → [Conv2D → MaxPooling2D]×k →
    Flatten → Dropout → Dense(softmax), or a new head on a pretrained backbone (--backbone).

    The exported SavedModel takes uint8 images [batch, height, width, channels] and returns
    class probabilities.

    \b
    Examples:
      tfapps image-classify                      # embedded digits (1,797 8x8 images)
      tfapps image-classify --dataset mnist      # TFDS catalog, downloaded on first use
      tfapps image-classify --dataset ./photos   # photos/<class>/*.jpg
      tfapps image-classify --dataset ./photos --backbone mobilenet_v3_small
    """
    embedded = (
        EmbeddedDataset(
            name="digits",
            examples=1797,
            origin="scikit-learn (sklearn.datasets.load_digits)",
            description="8x8 grayscale handwritten digits, 10 classes",
            builder="tfapps.data.digits:Digits",
        ),
    )
    catalog = (
        "mnist",
        "fashion_mnist",
        "kmnist",
        "emnist",
        "cifar10",
        "cifar100",
        "svhn_cropped",
        "rock_paper_scissors",
        "horses_or_humans",
        "beans",
        "tf_flowers",
    )
    local_formats = (
        "a folder root/<class>/ of images (jpg, png, bmp, gif, webp, tif, ...; or "
        "root/train|val|test/<class>/...)"
    )
    quick = {"epochs": 10}
    variants = ({"architecture": "dense"},)

    def read_tfds(self, builder, source: str, config: ImageClassifyConfig) -> Splits:
        from tfapps.data.image_data import from_tfds

        return from_tfds(builder, source, config)

    def read_path(self, path: Path, config: ImageClassifyConfig) -> Splits:
        from tfapps.data.image_data import from_folder

        return from_folder(path, config)

    def fetch_resources(self, config: ImageClassifyConfig, splits: Splits) -> None:
        """The backbone's ImageNet weights, downloaded or found (`backbones.fetch_weights`)."""
        if (splits.info.spec.backbone or NO_BACKBONE) != NO_BACKBONE:
            from tfapps.backbones import fetch_weights

            fetch_weights(splits.info.spec.backbone, config.backbone_weights)

    def build(self, config: ImageClassifyConfig, splits: Splits) -> TaskModel:
        from tfapps.tasks import image_model

        shape = splits.info.spec.input_shape
        augment = image_model.auto_augment(shape) if config.augment is None else config.augment
        if (splits.info.spec.backbone or NO_BACKBONE) != NO_BACKBONE:
            from tfapps.tasks.transfer_model import transfer_task_model

            return transfer_task_model(config, splits, augment)
        filters = config.filters or image_model.auto_filters(shape)
        model = image_model.build_image_classifier(
            shape,
            len(splits.info.class_names),
            filters=filters,
            dropout=config.dropout,
            architecture=config.architecture,
            augment=augment,
            kernel_size=config.kernel_size,
        )
        compile_model(model, config, "sparse_categorical_crossentropy", ["accuracy"])
        architecture = {"augment": augment}
        if config.architecture == "conv":
            architecture["filters"] = list(filters)
        return TaskModel(
            model, architecture=architecture, epochs=self.max_epochs(config, splits.info)
        )

    def max_epochs(self, config: ImageClassifyConfig, info: DatasetInfo) -> int:
        """`--epochs`, else 40 for small images and 15 for photos (`image_model.auto_epochs`)."""
        from tfapps.tasks import image_model

        return config.epochs or image_model.auto_epochs(info.spec.input_shape)

    def search_space(
        self, space: Space, config: ImageClassifyConfig, info: DatasetInfo
    ) -> ImageClassifyConfig:
        """The convnet's blocks (one fewer to one more than the default), the first block's
        filters (doubling in each next block, `image_model.block_filters`) and kernel size;
        or on a pretrained backbone, the backbone (among those of the same input size whose
        weights are on this machine, `backbones.weights_on_machine`; only the run's own with
        `--backbone-weights`), the layers fine-tuning trains (half, all or twice the
        default, `transfer_model.backbone_layers`) and its learning rate (unless
        `--fine-tune-epochs 0`); the dense model's knobs alone: dropout, augmentation and
        learning rate, which every model has."""
        from tfapps.tasks import image_model

        shape = info.spec.input_shape
        knobs, derived = {}, {}
        backbone = info.spec.backbone or NO_BACKBONE
        if backbone != NO_BACKBONE:
            knobs.update(self._backbone_knobs(space, config, backbone, shape))
        elif config.architecture == "conv":
            filters = config.filters or image_model.auto_filters(shape)
            count = len(filters)
            blocks = space.integer("blocks", max(1, count - 1), count + 1, count)
            first = space.choice("filters", (16, 32, 64), filters[0])
            if space.changed("blocks", "filters"):
                derived["filters"] = image_model.block_filters(first, blocks)
            knobs["kernel_size"] = space.choice("kernel_size", (3, 5), config.kernel_size)
        knobs["dropout"] = space.number("dropout", 0.0, 0.6, config.dropout)
        augment = image_model.auto_augment(shape) if config.augment is None else config.augment
        knobs["augment"] = space.boolean("augment", augment)
        knobs["learning_rate"] = space.number(
            "learning_rate", 1e-4, 1e-2, config.learning_rate, log=True
        )
        return space.apply(config, knobs, derived)

    def _backbone_knobs(
        self, space: Space, config: ImageClassifyConfig, backbone: str, shape: tuple
    ) -> dict:
        """The knobs of a run on `backbone`: which backbone, and fine-tuning's depth and
        learning rate."""
        from tfapps.backbones import BACKBONES, weights_on_machine
        from tfapps.tasks.transfer_model import FINE_TUNE_EPOCHS, backbone_layers

        side = BACKBONES[backbone].image_size
        others = () if config.backbone_weights is not None else BACKBONES
        alike = [
            name
            for name in others
            if (config.image_size is not None or BACKBONES[name].image_size == side)
            and weights_on_machine(name)
        ]
        knobs = {"backbone": space.choice("backbone", tuple(alike), backbone)}
        epochs = FINE_TUNE_EPOCHS if config.fine_tune_epochs is None else config.fine_tune_epochs
        if epochs:
            automatic, most = backbone_layers(backbone, shape[-1])
            layers = config.fine_tune_layers or automatic
            depths = {max(1, layers // 2), layers, min(most, 2 * layers)}
            knobs["fine_tune_layers"] = space.choice("fine_tune_layers", tuple(depths), layers)
            knobs["fine_tune_learning_rate"] = space.number(
                "fine_tune_learning_rate", 1e-5, 1e-3, config.fine_tune_learning_rate, log=True
            )
        return knobs

    def tuned_info(self, config: ImageClassifyConfig, info: DatasetInfo) -> DatasetInfo:
        """The data's facts with the backbone a trial chose (the `backbone` knob): the
        images, of the same size, are read the same for every backbone."""
        import dataclasses

        spec = info.spec
        unchanged = config.backbone in (None, spec.backbone)
        if (spec.backbone or NO_BACKBONE) == NO_BACKBONE or unchanged:
            return info
        return dataclasses.replace(info, spec=dataclasses.replace(spec, backbone=config.backbone))

    def read_inputs(self, record: RunRecord, input_names, inputs, text_per=None):
        """Image files of any format and size Pillow reads, and the images in folders, read
        by the training reader with the run's input size, channels and resize rule
        (`image_inputs`)."""
        from tfapps.tasks.image_inputs import image_inputs

        return image_inputs(record, input_names[0], inputs)

    def check_fits(self, info: DatasetInfo, trained: DatasetInfo, dataset: str) -> None:
        """Refuses other classes, and images of another shape than the model takes."""
        super().check_fits(info, trained, dataset)
        if info.spec.input_shape != trained.spec.input_shape:
            raise InvalidInput(
                f"{dataset!r} has images of shape {info.spec.input_shape}; the model takes "
                f"{trained.spec.input_shape}."
            )

    def evaluation_options(self, record: RunRecord) -> dict:
        """Other data is fitted to the model's input size."""
        return {"image_size": tuple(record.dataset.spec.input_shape[:2])}

    def serving_values(self, values: list, spec: InputSpec, record: RunRecord) -> np.ndarray:
        """uint8 arrays of the input's shape, or `{"b64": <an image file>}` decoded and fitted
        exactly as in training (`image_inputs.served_image`)."""
        import numpy as np

        from tfapps.tasks.image_inputs import served_image

        return np.stack([served_image(value, spec, record) for value in values])

    def export_part(self, model: keras.Model, record: RunRecord, fmt: str) -> Part:
        """Every format holds the whole model, raw uint8 images in."""
        from tfapps.export_parts import raw_part

        return raw_part(model, classifier=True)


TASK = ImageClassifyTask()
