"""Token, position and segment embeddings, as the official FNet embedder."""

import keras
from keras import ops


def _check_token_ids(token_ids, max_sequence_length):
    dtype = keras.backend.standardize_dtype(token_ids.dtype)
    if "int" not in dtype:
        raise TypeError(f"`token_ids` must be integers, got dtype {dtype}.")
    if len(token_ids.shape) != 2:
        raise ValueError(
            "`token_ids` must have shape [batch, sequence], got shape "
            f"{tuple(token_ids.shape)}."
        )
    length = token_ids.shape[1]
    if isinstance(length, int) and length > max_sequence_length:
        raise ValueError(
            f"Input sequence of length {length} is longer than "
            f"max_sequence_length={max_sequence_length}."
        )


@keras.saving.register_keras_serializable(package="keras_fnet")
class Embeddings(keras.layers.Layer):
    """`Dropout(Dense(LayerNorm(word + position + segment)))`.

    Learned position embeddings for up to `max_sequence_length` positions, a
    LayerNorm, and a projection from `embedding_dim` to `hidden_dim`, as the
    official FNet embedder (`hidden_mapping_in`).

    Args:
        vocabulary_size: number of token ids.
        max_sequence_length: number of position embeddings.
        num_segments: number of segment ids.
        embedding_dim: width of the embeddings.
        hidden_dim: width after the projection.
        dropout: dropout rate on the output.
        layer_norm_epsilon: LayerNorm epsilon.
        **kwargs: standard layer arguments.

    Example:

    >>> layer = Embeddings(100, 16, 2, embedding_dim=8, hidden_dim=12)
    >>> layer(np.array([[5, 6, 7]]), np.array([[0, 0, 1]])).shape
    (1, 3, 12)
    """

    def __init__(
        self,
        vocabulary_size,
        max_sequence_length,
        num_segments,
        embedding_dim,
        hidden_dim,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, embeddings_initializer=init,
            dtype=self.dtype_policy, name="token_embedding")
        self.segment_embedding = keras.layers.Embedding(
            num_segments, embedding_dim, embeddings_initializer=init,
            dtype=self.dtype_policy, name="segment_embedding")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")
        self.projection = keras.layers.Dense(
            hidden_dim, kernel_initializer=init, dtype=self.dtype_policy, name="projection")
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding.build(token_ids_shape)
        self.segment_embedding.build(token_ids_shape)
        self.position_embedding = self.add_weight(
            name="position_embedding",
            shape=(self.max_sequence_length, self.embedding_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )
        self.layer_norm.build((None, None, self.embedding_dim))
        self.projection.build((None, None, self.embedding_dim))
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        _check_token_ids(token_ids, self.max_sequence_length)
        length = ops.shape(token_ids)[1]
        x = self.token_embedding(token_ids) + self.segment_embedding(segment_ids)
        x = x + ops.expand_dims(self.position_embedding[:length], 0)
        x = self.projection(self.layer_norm(x))
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        }
