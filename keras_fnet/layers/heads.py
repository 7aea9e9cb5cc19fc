"""Task heads that need more than a Dense layer."""

import keras
from keras import ops

from keras_fnet.layers.base import default_initializer
from keras_fnet.layers.encoder_block import activation_function


def embedding_table(embedding, dtype):
    """The float table of a `keras.layers.Embedding`, also once int8-quantized
    (`quantize("int8")` stores int8 rows and one scale per row)."""
    table = ops.cast(embedding.embeddings, dtype)
    if embedding.quantization_mode == "int8":
        table = table / ops.expand_dims(ops.cast(embedding.embeddings_scale, dtype), -1)
    return table


@keras.saving.register_keras_serializable(package="keras_fnet")
class MaskedLMHead(keras.layers.Layer):
    """Masked-LM head with output weights tied to the word embeddings.

    Gathers the hidden states at `mask_positions`, then
    `LayerNorm(act(Dense(h)))` and logits `x @ E^T + b`, where `E` is the
    token embedding table (`[vocabulary_size, embedding_dim]`), as the official
    FNet pretraining model.

    Args:
        token_embedding: the encoder's `keras.layers.Embedding` whose table is
            shared. Not serialized: the model that owns both re-ties them.
        layer_norm_epsilon: LayerNorm epsilon.
        kernel_initializer: initializer of the dense kernel (default: normal,
            stddev 0.02).
        activation: a name of `keras_fnet.layers.encoder_block.ACTIVATIONS`
            (default `"gelu_approximate"`, the tanh GELU).
        **kwargs: standard layer arguments.

    Example:

    >>> import numpy as np
    >>> embedding = keras.layers.Embedding(50, 8)
    >>> embedding.build((None,))
    >>> head = MaskedLMHead(embedding)
    >>> tuple(head(np.random.rand(2, 6, 4).astype("float32"), np.array([[1, 2], [0, 5]])).shape)
    (2, 2, 50)
    """

    def __init__(self, token_embedding, layer_norm_epsilon=1e-12, kernel_initializer=None,
                 activation="gelu_approximate", **kwargs):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = default_initializer(kernel_initializer)
        activation_function(activation)
        self.activation = activation

    def build(self, inputs_shape, mask_positions_shape=None):
        self.dense = keras.layers.Dense(
            self.token_embedding.output_dim, activation=activation_function(self.activation),
            kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy, name="dense")
        self.dense.build(inputs_shape)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")
        self.layer_norm.build(tuple(inputs_shape[:-1]) + (self.token_embedding.output_dim,))
        self.bias = self.add_weight(
            name="bias", shape=(self.token_embedding.input_dim,), initializer="zeros")
        self.built = True

    def call(self, inputs, mask_positions):
        positions = ops.expand_dims(ops.cast(mask_positions, "int32"), -1)
        x = ops.take_along_axis(inputs, positions, axis=1)
        x = self.layer_norm(self.dense(x))
        table = embedding_table(self.token_embedding, x.dtype)
        return ops.matmul(x, ops.transpose(table)) + ops.cast(self.bias, x.dtype)

    def compute_output_shape(self, inputs_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.token_embedding.input_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "activation": self.activation,
        }
