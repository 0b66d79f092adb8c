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

import tensorflow as tf

from tfapps.training import map_in_batches

# Shuffled examples are sorted by length in chunks of this many batches.
SORTED_CHUNK_BATCHES = 4


def text_lengths(tokens: tf.Tensor) -> tf.Tensor:
    """Tokens per row of a batch of token ids, padding (id 0, used only for padding) excluded."""
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
        batches, whose batches are then shuffled again: the batches have the size and count
        of plain batching, and texts of similar length share a batch. Unshuffled data
        (evaluation) keeps its order.

        Args:
            dataset: unbatched `(tokens, label)` examples, tokens padded to `full_length`.
            batch_size: examples per batch.
            shuffle_seed: seed of the batch shuffle; `None` keeps the order.
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
