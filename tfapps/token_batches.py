"""Batches of token ids cut to the padding they need.

A stack of strided "same" convolutions under a global max pooling gives a text the same
outputs whether it is padded to the full sequence length or to a shorter one, as long as the
shorter length keeps enough padding after the text's last token and aligns the convolution
windows as the full length does (`TokenCut`). Training on batches of texts of similar length,
each cut to its longest text, then skips most of the convolutions over padding, while the
exported model keeps padding every text to the full length.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from tfapps.pipeline import map_in_batches

# Shuffled examples are sorted by length in chunks of this many batches.
SORTED_CHUNK_BATCHES = 4


def text_lengths(tokens: tf.Tensor) -> tf.Tensor:
    """Tokens per row of a batch of token ids: TextVectorization uses id 0 for padding only
    (unknown words are id 1), so the non-zero ids are the text."""
    return tf.math.count_nonzero(tokens, axis=1)


@dataclass(frozen=True)
class TokenCut:
    """Which lengths shorter than the full one leave a Conv1D classifier's outputs unchanged.

    Args:
        full_length: tokens per text as the vectorizer pads them (and as serving sees them).
        period: the product of the convolution strides; a cut length differs from
            `full_length` by a multiple of it, so "same" padding aligns every window as at
            full length.
        margin: padding tokens kept after a batch's longest text: one receptive field of the
            last convolution plus `period - 1`, so that the windows over padding alone (and
            those at the end of the sequence) see what they see at full length.
    """

    full_length: int
    period: int
    margin: int

    @classmethod
    def for_model(cls, model: keras.Model, full_length: int) -> TokenCut:
        """The rule for a model whose Conv1D layers ("same" padding, no dilation) run one
        after the other, then a global max pooling.

        The receptive field of the last convolution is `1 + sum((kernel - 1) * period)` over
        the layers, `period` being the product of the strides before each layer (25 tokens for
        tfapps' two kernels of 7 with strides 3); the period is the product of all strides (9).

        Args:
            model: the classifier, taking token ids.
            full_length: tokens per text as the vectorizer pads them.
        """
        period, receptive_field = 1, 1
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv1D):
                receptive_field += (layer.kernel_size[0] - 1) * period
                period *= layer.strides[0]
        return cls(full_length, period, margin=receptive_field + period - 1)

    def length_for(self, longest: tf.Tensor) -> tf.Tensor:
        """The shortest allowed length that keeps `margin` padding tokens after `longest`."""
        needed = tf.minimum(longest + self.margin, self.full_length)
        return self.full_length - (self.full_length - needed) // self.period * self.period

    def cut(self, tokens: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Cuts a batch of full-length token ids to the length its longest text needs."""
        return tokens[:, : self.length_for(tf.reduce_max(text_lengths(tokens)))], labels

    def batch(
        self, dataset: tf.data.Dataset, batch_size: int, shuffle_seed: int | None
    ) -> tf.data.Dataset:
        """Batches `(tokens, label)` examples and cuts each batch to the length it needs.

        Shuffled data (training) is first sorted by length in chunks of `SORTED_CHUNK_BATCHES`
        batches, and the batches then pass through a shuffle buffer of as many batches: the
        batches have the size and count of plain batching, and texts of similar length share
        a batch. Unshuffled data (evaluation) keeps its order.

        Args:
            dataset: unbatched `(tokens, label)` examples, tokens padded to `full_length`.
            batch_size: examples per batch.
            shuffle_seed: seed of the batch shuffle (`pipeline.batched` shuffled the examples
                with it too); `None` keeps the order.
        """
        if shuffle_seed is not None:
            sorted_examples = map_in_batches(
                dataset, _sorted_by_length, batch_size * SORTED_CHUNK_BATCHES
            )
            dataset = sorted_examples.batch(batch_size).shuffle(
                SORTED_CHUNK_BATCHES, seed=shuffle_seed, reshuffle_each_iteration=True
            )
        else:
            dataset = dataset.batch(batch_size)
        return dataset.map(self.cut, num_parallel_calls=tf.data.AUTOTUNE)


def _sorted_by_length(tokens: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    order = tf.argsort(text_lengths(tokens), stable=True)
    return tf.gather(tokens, order), tf.gather(labels, order)
