"""`PretrainingPreprocessor`: sentence pairs to MLM + NSP batches.

Each example is a pair of consecutive text segments `(a, b)` of a document.
With probability 1/2 the two are swapped (NSP label 1 = swapped, 0 = in order,
the official convention), packed as `[CLS] a [SEP] b [SEP]` by keras-hub's
`MultiSegmentPacker`, then masked by `keras_fnet.preprocessing.masking.mask_tokens`
(15% of the non-special tokens, 80% `[MASK]` / 10% random / 10% kept), the
same numpy code as the C4 and own-corpus pipelines, driven by one seeded
generator.

Output, the batch format of `keras_fnet.data.pretraining` plus the NSP
weights that `Pretrainer.fit` needs: `(features, {"mlm": labels, "nsp": nsp},
{"mlm": weights, "nsp": ones})` with features `token_ids`, `segment_ids`,
`padding_mask` `[B, L]` and `mask_positions` `[B, P]`.

This module imports TensorFlow and keras-hub (preprocessing runs in tf.data).
"""

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_fnet import keras_compat
from keras_fnet.preprocessing.classifier import as_segments, deserialize_tokenizer, packer
from keras_fnet.preprocessing.masking import mask_tokens


@keras.saving.register_keras_serializable(package="keras_fnet")
class PretrainingPreprocessor(keras_hub.models.Preprocessor):
    """Text pairs `(a, b)` in; NSP order and MLM masking out.

    Args:
        tokenizer: a `Tokenizer` (or the path/bytes of its SentencePiece model).
        sequence_length: packed length L.
        max_predictions: P, masked positions per sequence.
        selection_rate: fraction of the non-special tokens to predict.
        mask_token_rate: fraction of those replaced by `[MASK]`.
        random_token_rate: fraction replaced by a random non-special token.
        seed: seed of the swaps and the masking.
        **kwargs: `name`.

    Example:

    >>> from keras_fnet.data.tokenizer import mock_vocabulary
    >>> from keras_fnet.preprocessing import Tokenizer
    >>> p = PretrainingPreprocessor(Tokenizer(mock_vocabulary()), 16, max_predictions=4)
    >>> x, y, w = p((tf.constant(["ab cd ef"]), tf.constant(["gh ij"])))
    >>> tuple(x["mask_positions"].shape), tuple(y["nsp"].shape)
    ((1, 4), (1,))
    """

    def __init__(self, tokenizer, sequence_length=512, max_predictions=80,
                 selection_rate=0.15, mask_token_rate=0.8, random_token_rate=0.1,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = deserialize_tokenizer(tokenizer)
        self.sequence_length = int(sequence_length)
        self.max_predictions = int(max_predictions)
        self.selection_rate = selection_rate
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.seed = seed
        self.packer = None

    def build(self, input_shape=None):
        self.packer = packer(self.tokenizer, self.sequence_length)
        self._rng = np.random.default_rng(self.seed)
        self.built = True

    def __call__(self, x, y=None, sample_weight=None, **kwargs):
        # By keyword: keras-hub's `Preprocessor` would read the pair as (x, y).
        return super().__call__(x, y=y, sample_weight=sample_weight, **kwargs)

    def _swaps(self, n):
        return (self._rng.random(int(n)) < 0.5).astype(np.int32)

    def _mask(self, token_ids):
        t = self.tokenizer
        special = [t.pad_token_id, t.cls_token_id, t.sep_token_id, t.mask_token_id]
        return mask_tokens(
            token_ids, self._rng, special, t.vocabulary_size(), t.mask_token_id,
            self.selection_rate, self.max_predictions, self.mask_token_rate,
            self.random_token_rate,
        )

    @keras_compat.preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        if y is not None or sample_weight is not None:
            raise ValueError("Pretraining makes its own labels; pass only `x` = (a, b).")
        segments = as_segments(x)
        if len(segments) != 2:
            raise ValueError("Pretraining needs text pairs: x = (first_segments, second_segments).")
        a, b = segments
        swapped = tf.numpy_function(self._swaps, [tf.size(a)], tf.int32, stateful=True)
        swapped = tf.reshape(swapped, tf.shape(a))
        first = tf.where(swapped == 1, b, a)
        second = tf.where(swapped == 1, a, b)
        token_ids, segment_ids = self.packer((self.tokenizer(first), self.tokenizer(second)))
        token_ids = tf.cast(token_ids, tf.int32)
        masked, positions, labels, weights = tf.numpy_function(
            self._mask, [token_ids], [tf.int32, tf.int32, tf.int32, tf.float32],
            stateful=True,
        )
        length, predictions = [None, self.sequence_length], [None, self.max_predictions]
        features = {
            "token_ids": tf.ensure_shape(masked, length),
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(token_ids != self.tokenizer.pad_token_id, tf.int32),
            "mask_positions": tf.ensure_shape(positions, predictions),
        }
        labels = {"mlm": tf.ensure_shape(labels, predictions), "nsp": swapped}
        weights = {"mlm": tf.ensure_shape(weights, predictions),
                   "nsp": tf.ones_like(swapped, tf.float32)}
        return features, labels, weights

    def get_config(self):
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            max_predictions=self.max_predictions,
            selection_rate=self.selection_rate,
            mask_token_rate=self.mask_token_rate,
            random_token_rate=self.random_token_rate,
            seed=self.seed,
        )
        return config
