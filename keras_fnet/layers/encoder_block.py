"""The one encoder block of the zoo, given its mixing sublayer."""

import keras


def gelu_tanh(x):
    """GELU in its tanh form, as the official FNet code (`flax.linen.gelu`)."""
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="keras_fnet")
class EncoderBlock(keras.layers.Layer):
    """Post-LayerNorm block: `x = LN(x + mix(x)); x = LN(x + FF(x))`.

    `FF` is `Dropout(Dense(GELU(Dense(x))))`. The block does not know which
    mixing it holds: any layer with `call(x, padding_mask=None)` works.

    Args:
        mixing: the token-mixing layer (e.g. `FourierMixing()`).
        intermediate_dim: width of the feed-forward sublayer.
        dropout: dropout rate after the feed-forward sublayer.
        layer_norm_epsilon: LayerNorm epsilon.
        **kwargs: standard layer arguments.

    Example:

    >>> from keras_fnet.layers import FourierMixing
    >>> block = EncoderBlock(FourierMixing(), intermediate_dim=32)
    >>> block(np.random.rand(2, 6, 8).astype("float32")).shape
    (2, 6, 8)
    """

    def __init__(self, mixing, intermediate_dim, dropout=0.0, layer_norm_epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mixing, dict):
            mixing = keras.saving.deserialize_keras_object(mixing)
        self.mixing = mixing
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        init = keras.initializers.RandomNormal(stddev=0.02)
        policy = self.dtype_policy
        self.mixing_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="mixing_layer_norm")
        self.intermediate = keras.layers.Dense(
            intermediate_dim, activation=gelu_tanh, kernel_initializer=init,
            dtype=policy, name="intermediate")
        self.output_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="output_layer_norm")

    def build(self, input_shape):
        hidden = input_shape[-1]
        self.mixing.build(input_shape)
        self.mixing_layer_norm.build(input_shape)
        self.intermediate.build(input_shape)
        self.output_dense = keras.layers.Dense(
            hidden, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=self.dtype_policy, name="output")
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.output_layer_norm.build(input_shape)
        self.built = True

    def call(self, inputs, padding_mask=None, training=None):
        mixed = self.mixing(inputs, padding_mask=padding_mask, training=training)
        x = self.mixing_layer_norm(inputs + mixed)
        ff = self.output_dropout(self.output_dense(self.intermediate(x)), training=training)
        return self.output_layer_norm(x + ff)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "mixing": keras.saving.serialize_keras_object(self.mixing),
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        }
