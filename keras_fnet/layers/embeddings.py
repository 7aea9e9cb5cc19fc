"""Encoder inputs to the residual stream: token ids, or float features.

Both kinds end the same way, as the official FNet embedder:
`Dropout(Dense(LayerNorm(x + position)))`, with learned positions for up to
`max_sequence_length` steps and a projection from `embedding_dim` to
`hidden_dim` (`hidden_mapping_in`); with `embedding_projection=False` the
projection is left out, `Dropout(LayerNorm(x + position))`, as BERT. They
differ only in `x`: word plus segment embeddings of token ids (`Embeddings`),
or a linear projection of float features `[batch, sequence, features]`
(`FeatureEmbeddings`).
"""

import keras
import numpy as np
from keras import ops

from keras_fnet.layers.base import default_initializer


def check_ids(ids, limit, name):
    """Raise a clear error when NumPy `ids` leave `[0, limit)`.

    Only concrete NumPy arrays are checked, on the host: inside a compiled
    step (or a user's own `jax.jit`/`tf.function`) the values are unknown, and
    an id out of range is not caught there (JAX then reads NaN for ids >=
    `limit` and the last row for -1; TensorFlow and PyTorch raise their own
    errors on CPU).

    Example:

    >>> check_ids(np.array([[0, 4]]), 4, "token_ids")
    Traceback (most recent call last):
    ...
    ValueError: `token_ids` holds 4, outside [0, 4) (vocabulary or segment count of the model).
    """
    if not isinstance(ids, np.ndarray) or ids.size == 0:
        return
    bad = (ids < 0) | (ids >= limit)
    if bad.any():
        raise ValueError(
            f"`{name}` holds {ids[bad].flat[0]}, outside [0, {limit}) "
            "(vocabulary or segment count of the model)."
        )


class _PositionalEmbeddings(keras.layers.Layer):
    """Shared tail: `Dropout(Dense(LayerNorm(x + position)))` (no `Dense`
    without `embedding_projection`).

    Subclasses build their input sublayers and then call `_build_tail()`;
    `call` computes `x` `[batch, sequence, embedding_dim]` and returns
    `_finish(x, training)`.
    """

    def __init__(
        self,
        max_sequence_length,
        embedding_dim,
        hidden_dim,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        kernel_initializer=None,
        use_position_embedding=True,
        embedding_projection=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not embedding_projection and embedding_dim != hidden_dim:
            raise ValueError(
                f"Without `embedding_projection`, `embedding_dim` ({embedding_dim}) must equal "
                f"`hidden_dim` ({hidden_dim})."
            )
        self.embedding_projection = bool(embedding_projection)
        self.max_sequence_length = max_sequence_length
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = default_initializer(kernel_initializer)
        self.use_position_embedding = use_position_embedding

    def _sublayer(self, layer_class, *args, **kwargs):
        return layer_class(*args, dtype=self.dtype_policy, **kwargs)

    def _build_tail(self):
        if self.use_position_embedding:
            self.position_embedding = self.add_weight(
                name="position_embedding",
                shape=(self.max_sequence_length, self.embedding_dim),
                initializer=self.kernel_initializer,
            )
        self.layer_norm = self._sublayer(
            keras.layers.LayerNormalization, epsilon=self.layer_norm_epsilon, name="layer_norm")
        self.layer_norm.build((None, None, self.embedding_dim))
        self.projection = None
        if self.embedding_projection:
            self.projection = self._sublayer(
                keras.layers.Dense, self.hidden_dim, kernel_initializer=self.kernel_initializer,
                name="projection")
            self.projection.build((None, None, self.embedding_dim))
        self.dropout_layer = self._sublayer(keras.layers.Dropout, self.dropout)
        self.built = True

    def _check_length(self, inputs):
        length = inputs.shape[1]
        if (self.use_position_embedding and isinstance(length, int)
                and length > self.max_sequence_length):
            raise ValueError(
                f"Input sequence of length {length} is longer than "
                f"max_sequence_length={self.max_sequence_length}."
            )

    def _finish(self, x, training):
        if self.use_position_embedding:
            length = ops.shape(x)[1]
            x = x + ops.expand_dims(ops.cast(self.position_embedding[:length], x.dtype), 0)
        x = self.layer_norm(x)
        if self.projection is not None:
            x = self.projection(x)
        return self.dropout_layer(x, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "max_sequence_length": self.max_sequence_length,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "use_position_embedding": self.use_position_embedding,
            "embedding_projection": self.embedding_projection,
        }


@keras.saving.register_keras_serializable(package="keras_fnet")
class Embeddings(_PositionalEmbeddings):
    """`Dropout(Dense(LayerNorm(word + position + segment)))` of token ids.

    Args:
        vocabulary_size: number of token ids.
        max_sequence_length: number of position embeddings.
        num_segments: number of segment ids.
        embedding_dim: width of the embeddings.
        hidden_dim: width after the projection.
        dropout: dropout rate on the output.
        layer_norm_epsilon: LayerNorm epsilon.
        kernel_initializer: initializer of every table and kernel (default:
            normal, stddev 0.02).
        use_position_embedding: whether to add learned positions.
        embedding_projection: project to `hidden_dim` after the LayerNorm
            (official FNet); False leaves it out (BERT; then `embedding_dim`
            must equal `hidden_dim`).
        **kwargs: standard layer arguments.

    Token and segment ids given as NumPy arrays are checked against
    `vocabulary_size` and `num_segments` (see `check_ids` for what is not).

    Example:

    >>> layer = Embeddings(100, 16, 2, embedding_dim=8, hidden_dim=12)
    >>> tuple(layer(np.array([[5, 6, 7]]), np.array([[0, 0, 1]])).shape)
    (1, 3, 12)
    """

    def __init__(self, vocabulary_size, max_sequence_length, num_segments, embedding_dim,
                 hidden_dim, **kwargs):
        super().__init__(max_sequence_length, embedding_dim, hidden_dim, **kwargs)
        self.vocabulary_size = vocabulary_size
        self.num_segments = num_segments

    def __call__(self, token_ids, segment_ids, *args, **kwargs):
        check_ids(token_ids, self.vocabulary_size, "token_ids")
        check_ids(segment_ids, self.num_segments, "segment_ids")
        return super().__call__(token_ids, segment_ids, *args, **kwargs)

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding = self._sublayer(
            keras.layers.Embedding, self.vocabulary_size, self.embedding_dim,
            embeddings_initializer=self.kernel_initializer, name="token_embedding")
        self.token_embedding.build(token_ids_shape)
        self.segment_embedding = self._sublayer(
            keras.layers.Embedding, self.num_segments, self.embedding_dim,
            embeddings_initializer=self.kernel_initializer, name="segment_embedding")
        self.segment_embedding.build(token_ids_shape)
        self._build_tail()

    def call(self, token_ids, segment_ids, training=None):
        dtype = keras.backend.standardize_dtype(token_ids.dtype)
        if "int" not in dtype:
            raise TypeError(f"`token_ids` must be integers, got dtype {dtype}.")
        if len(token_ids.shape) != 2:
            raise ValueError(
                "`token_ids` must have shape [batch, sequence], got shape "
                f"{tuple(token_ids.shape)}."
            )
        self._check_length(token_ids)
        x = self.token_embedding(token_ids) + self.segment_embedding(segment_ids)
        return self._finish(x, training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "num_segments": self.num_segments,
        }


@keras.saving.register_keras_serializable(package="keras_fnet")
class FeatureEmbeddings(_PositionalEmbeddings):
    """`Dropout(Dense(LayerNorm(Dense(features) + position)))` of float features.

    For an encoder over any vectors (image rows or patches, audio frames, time
    series): `[batch, sequence, features]` is projected to `embedding_dim`
    instead of looking up token and segment embeddings.

    Args:
        max_sequence_length: number of position embeddings.
        embedding_dim: width after the input projection.
        hidden_dim: width after the second projection.
        **kwargs: as `Embeddings` (`dropout`, `layer_norm_epsilon`,
            `kernel_initializer`, `use_position_embedding`,
            `embedding_projection`) and standard
            layer arguments.

    Example:

    >>> layer = FeatureEmbeddings(8, embedding_dim=16, hidden_dim=12)
    >>> tuple(layer(np.random.rand(2, 8, 5).astype("float32")).shape)
    (2, 8, 12)
    """

    def build(self, features_shape):
        if len(features_shape) != 3:
            raise ValueError(
                "`features` must have shape [batch, sequence, features], got shape "
                f"{tuple(features_shape)}."
            )
        self.feature_projection = self._sublayer(
            keras.layers.Dense, self.embedding_dim, kernel_initializer=self.kernel_initializer,
            name="feature_projection")
        self.feature_projection.build(features_shape)
        self._build_tail()

    def call(self, features, training=None):
        self._check_length(features)
        return self._finish(self.feature_projection(features), training)

    def compute_output_shape(self, features_shape):
        return tuple(features_shape[:-1]) + (self.hidden_dim,)
