"""`ClassifierPreprocessor`: text (or text pairs) to the encoder's inputs.

    "a great movie"                  -> [CLS] a great movie [SEP]
    ("premise", "hypothesis")        -> [CLS] premise [SEP] hypothesis [SEP]

tokenized by `Tokenizer` and packed by keras-hub's `MultiSegmentPacker`
(round-robin truncation), as `{"token_ids", "segment_ids", "padding_mask"}`
int32 `[batch, sequence_length]`. Labels given as strings are looked up in
`label_names` (the mapping is part of the config, so it is saved with the
model); integer labels pass through.

This module imports TensorFlow and keras-hub (preprocessing runs in tf.data).
"""

import keras
import keras_hub
import tensorflow as tf

from keras_fnet import keras_compat
from keras_fnet.preprocessing.tokenizer import Tokenizer


def as_segments(x):
    """A string tensor, or a tuple/list of 1-2 of them, as a tuple of tensors."""
    segments = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    if not 1 <= len(segments) <= 2:
        raise ValueError(f"Expected one text or a text pair, got {len(segments)} segments.")
    segments = tuple(tf.convert_to_tensor(s) for s in segments)
    for s in segments:
        if s.dtype != tf.string:
            raise TypeError(f"Text inputs must be strings, got dtype {s.dtype.name}.")
    return segments


def deserialize_tokenizer(tokenizer):
    if isinstance(tokenizer, dict):
        return keras.layers.deserialize(tokenizer)
    if isinstance(tokenizer, (str, bytes)):
        return Tokenizer(tokenizer)
    return tokenizer


def packer(tokenizer, sequence_length, **kwargs):
    """keras-hub's `MultiSegmentPacker` with FNet's `[CLS]`, `[SEP]` and `<pad>` ids of
    `tokenizer` (build it after the tokenizer's assets are loaded)."""
    return keras_hub.layers.MultiSegmentPacker(
        sequence_length=sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
        **keras_compat.graph_only(kwargs),
    )

@keras.saving.register_keras_serializable(package="keras_fnet")
class ClassifierPreprocessor(keras_hub.models.Preprocessor):
    """Strings (one text or a pair) in, `token_ids`/`segment_ids`/`padding_mask` out.

    Called as `preprocessor(x, y=None, sample_weight=None)` and returns
    `keras.utils.pack_x_y_sample_weight(features, y, sample_weight)`, so it
    maps directly over a `tf.data.Dataset` of `(texts, labels)` batches.

    Args:
        tokenizer: a `Tokenizer` (or the path/bytes of its SentencePiece model).
        sequence_length: packed length, `[CLS]` and `[SEP]`s included.
        truncate: "round_robin" (default) or "waterfall", see keras-hub's
            `MultiSegmentPacker`.
        label_names: optional list of class names; string labels are mapped to
            their index, and `label_names[i]` names class `i` in predictions.
        **kwargs: `name`.

    Example:

    >>> from keras_fnet.data.tokenizer import mock_vocabulary
    >>> p = ClassifierPreprocessor(Tokenizer(mock_vocabulary()), 8, label_names=["neg", "pos"])
    >>> x, y = p(["ab cd"], ["pos"])
    >>> tuple(x["token_ids"].shape), keras.ops.convert_to_numpy(y).tolist()
    ((1, 8), [1])
    """

    def __init__(self, tokenizer, sequence_length=512, truncate="round_robin",
                 label_names=None, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = deserialize_tokenizer(tokenizer)
        self.sequence_length = int(sequence_length)
        self.truncate = truncate
        self.label_names = None if label_names is None else [str(n) for n in label_names]
        if self.label_names is not None and len(set(self.label_names)) != len(self.label_names):
            raise ValueError(f"`label_names` has duplicates: {self.label_names}.")
        self.packer = None

    def build(self, input_shape=None):
        # After the tokenizer's assets are loaded (a saved model sets them
        # after construction), so the special ids are known.
        self.packer = packer(self.tokenizer, self.sequence_length, truncate=self.truncate)
        self.built = True

    def __call__(self, x, y=None, sample_weight=None, **kwargs):
        # Labels always by keyword: keras-hub's `Preprocessor` would read a
        # text pair `(premise, hypothesis)` as `(x, y)`.
        return super().__call__(x, y=y, sample_weight=sample_weight, **kwargs)

    @keras_compat.preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        segments = tuple(self.tokenizer(s) for s in as_segments(x))
        token_ids, segment_ids = self.packer(segments)
        token_ids = tf.cast(token_ids, tf.int32)
        features = {
            "token_ids": token_ids,
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(token_ids != self.tokenizer.pad_token_id, tf.int32),
        }
        if y is not None:
            y = self.label_ids(y)
        return keras.utils.pack_x_y_sample_weight(features, y, sample_weight)

    def label_ids(self, y):
        """Class ids of labels: strings through `label_names`, integers as is."""
        y = tf.convert_to_tensor(y)
        if y.dtype != tf.string:
            return y
        if self.label_names is None:
            raise ValueError("String labels need `label_names` in the preprocessor.")
        names = tf.constant(self.label_names)
        hits = tf.cast(tf.equal(y[..., None], names), tf.int32)
        if tf.executing_eagerly():
            unknown = set(y.numpy()[tf.reduce_sum(hits, -1).numpy() != 1].tolist())
            if unknown:
                raise ValueError(f"Label(s) {sorted(u.decode() for u in unknown)} not in "
                                 f"label_names {self.label_names}.")
        tf.debugging.assert_equal(
            tf.reduce_sum(hits, axis=-1), 1,
            message=f"Label not in label_names {self.label_names}",
        )
        return tf.argmax(hits, axis=-1, output_type=tf.int32)

    def get_config(self):
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            truncate=self.truncate,
            label_names=self.label_names,
        )
        return config
