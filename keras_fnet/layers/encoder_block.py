"""The one encoder block of the zoo, given its mixing sublayer."""

import keras
from keras import ops

from keras_fnet.layers.base import default_initializer


def gelu_tanh(x):
    """GELU in its tanh form, as the official FNet code (`flax.linen.gelu`)."""
    return keras.activations.gelu(x, approximate=True)


def gelu_exact(x):
    """GELU with the exact Gaussian CDF (erf), as Hugging Face's BERT (`"gelu"`)."""
    return keras.activations.gelu(x, approximate=False)


# Feed-forward (and masked-LM head) activations by `EncoderConfig.activation`:
# the tanh GELU of the official FNet, original BERT and keras-hub, or the erf
# GELU of Hugging Face's `BertModel`.
ACTIVATIONS = {"gelu_approximate": gelu_tanh, "gelu": gelu_exact}


def activation_function(name):
    """The function of an `ACTIVATIONS` name; a clear error for any other."""
    if name not in ACTIVATIONS:
        raise ValueError(
            f"`activation` must be one of {', '.join(map(repr, ACTIVATIONS))}, got {name!r}."
        )
    return ACTIVATIONS[name]


@keras.saving.register_keras_serializable(package="keras_fnet")
class EncoderBlock(keras.layers.Layer):
    """Post-LayerNorm block `x = LN(x + mix(x)); x = LN(x + FF(x))`, or pre-LN.

    `FF` is `Dropout(Dense(GELU(Dense(x))))`. With `norm_first=True` the
    block is pre-LayerNorm, `x = x + mix(LN(x)); x = x + FF(LN(x))` (the
    encoder then ends with a LayerNorm). The block does not know which mixing
    it holds: any layer with `call(x, padding_mask=None)` works. A mixing
    output in float32 (the spectral transforms) is added to the residual in
    float32, so half-precision policies do not overflow before the LayerNorm.

    Args:
        mixing: the token-mixing layer (e.g. `FourierMixing()`).
        intermediate_dim: width of the feed-forward sublayer.
        dropout: dropout rate after the feed-forward sublayer.
        layer_norm_epsilon: LayerNorm epsilon.
        kernel_initializer: initializer of the feed-forward kernels (default:
            normal, stddev 0.02).
        norm_first: pre-LayerNorm instead of the official post-LayerNorm.
        activation: the feed-forward activation, a name of `ACTIVATIONS`
            (default `"gelu_approximate"`, the tanh GELU).
        **kwargs: standard layer arguments.

    Example:

    >>> import numpy as np
    >>> from keras_fnet.layers import FourierMixing
    >>> block = EncoderBlock(FourierMixing(), intermediate_dim=32)
    >>> tuple(block(np.random.rand(2, 6, 8).astype("float32")).shape)
    (2, 6, 8)
    """

    def __init__(self, mixing, intermediate_dim, dropout=0.0, layer_norm_epsilon=1e-12,
                 kernel_initializer=None, norm_first=False, activation="gelu_approximate",
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(mixing, dict):
            mixing = keras.saving.deserialize_keras_object(mixing)
        self.mixing = mixing
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = default_initializer(kernel_initializer)
        self.norm_first = bool(norm_first)
        activation_function(activation)
        self.activation = activation

    def build(self, input_shape):
        hidden = input_shape[-1]
        policy = self.dtype_policy
        if not self.mixing.built:  # A deserialized mixing comes built.
            self.mixing.build(input_shape)
        self.mixing_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="mixing_layer_norm")
        self.mixing_layer_norm.build(input_shape)
        self.intermediate = keras.layers.Dense(
            self.intermediate_dim, activation=activation_function(self.activation),
            kernel_initializer=self.kernel_initializer, dtype=policy, name="intermediate")
        self.intermediate.build(input_shape)
        self.output_dense = keras.layers.Dense(
            hidden, kernel_initializer=self.kernel_initializer, dtype=policy, name="output")
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="output_layer_norm")
        self.output_layer_norm.build(input_shape)
        self.built = True

    def _feed_forward(self, x, training):
        return self.output_dropout(self.output_dense(self.intermediate(x)), training=training)

    def call(self, inputs, padding_mask=None, training=None):
        # `ops.add` promotes a half-precision residual and a float32 mixing
        # output to float32 on every backend (TensorFlow's `+` does not).
        if self.norm_first:
            x = ops.add(inputs, self.mixing(
                self.mixing_layer_norm(inputs), padding_mask=padding_mask, training=training))
            return ops.add(x, self._feed_forward(self.output_layer_norm(x), training))
        mixed = self.mixing(inputs, padding_mask=padding_mask, training=training)
        x = self.mixing_layer_norm(ops.add(inputs, mixed))
        return self.output_layer_norm(x + self._feed_forward(x, training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "mixing": keras.saving.serialize_keras_object(self.mixing),
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "norm_first": self.norm_first,
            "activation": self.activation,
        }
