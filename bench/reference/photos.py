"""TensorFlow's image classification tutorial, written plainly, on a folder of photos.

The recipe of https://www.tensorflow.org/tutorials/images/classification (flowers at
180×180): `keras.utils.image_dataset_from_directory` streams the files, `.cache()`,
`.shuffle(1000)` and `.prefetch()`; RandomFlip("horizontal") → RandomRotation(0.1) →
RandomZoom(0.1) → Rescaling → Conv2D 16/32/64 with MaxPooling2D → Dropout(0.2) → Flatten →
Dense(128) → Dense(classes, logits); Adam with its defaults, batch 32, 15 epochs, no early
stopping. The only change: the files are split as tfapps splits them (the same seed, class
by class), so both sides train, validate and test on the same photos. The split is laid out
as folders of symbolic links, which `image_dataset_from_directory` reads as it reads any
folder.

Usage:
    python -m bench.reference.photos --comparison photos --dataset ~/flower_photos \
        --scratch /tmp/p --result p.json
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from bench import measure, tfapps_internals

IMAGE_SIZE = (180, 180)
BATCH_SIZE = 32
EPOCHS = 15
SHUFFLE_BUFFER = 1000


def build_model(num_classes: int) -> keras.Model:
    """The tutorial's model with its augmentation, on float images in [0, 255]."""
    return keras.Sequential(
        [
            keras.Input(shape=(*IMAGE_SIZE, 3)),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(num_classes),
        ]
    )


def folder_dataset(directory: Path, shuffle: bool, seed: int) -> tf.data.Dataset:
    """`image_dataset_from_directory` at the tutorial's size and batch."""
    return keras.utils.image_dataset_from_directory(
        directory, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, shuffle=shuffle, seed=seed
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    splits = tfapps_internals.split_folders(
        Path(options.dataset), Path(options.scratch), options.seed
    )
    keras.utils.set_random_seed(options.seed)
    train = folder_dataset(splits["train"], shuffle=True, seed=options.seed)
    validation = folder_dataset(splits["validation"], shuffle=False, seed=options.seed)
    test = folder_dataset(splits["test"], shuffle=False, seed=options.seed)
    class_names = train.class_names
    autotune = tf.data.AUTOTUNE
    train = train.cache().shuffle(SHUFFLE_BUFFER, seed=options.seed).prefetch(autotune)
    validation = validation.cache().prefetch(autotune)

    model = build_model(len(class_names))
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=options.steps_per_execution,
    )
    clock = measure.epoch_clock(options)
    model.fit(
        train,
        validation_data=validation,
        epochs=options.epochs or EPOCHS,
        callbacks=[clock],
        verbose=0,
    )
    end = measure.recipe_end()
    x_test = np.concatenate([images for images, _ in test.as_numpy_iterator()])
    y_test = np.concatenate([labels for _, labels in test.as_numpy_iterator()])
    train_examples = sum(1 for _ in splits["train"].glob("*/*"))
    measure.write_result(
        options,
        end,
        clock,
        model.set_weights,
        lambda: measure.predict(model, x_test),
        y_test,
        train_examples,
        steps_per_execution=options.steps_per_execution,
    )


if __name__ == "__main__":
    main()
