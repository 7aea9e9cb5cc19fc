"""Self-attention mixing: the BERT baseline (and the projections Performer shares)."""

import math

import keras
import numpy as np  # noqa: F401 (the examples use it)
from keras import ops

from keras_fnet import backend_specific
from keras_fnet.layers.base import (
    MixingLayer,
    MixingOption,
    default_initializer,
    register_mixing,
)

# `AttentionMixing(implementation="auto")`: the longest sequence for which a
# (backend, device kind) writes the attention probabilities out instead of
# calling the fused kernel (absent: always fused). JAX on a CPU, measured inside
# BERT's inference step (README, "Speed"): the written-out path, keras-hub's, is
# 0.79-0.94x the time of JAX's fused `dot_product_attention` from 512 to 4096
# tokens, and 1.47x at 8192. PyTorch's SDPA is about twice as fast as the
# written-out path; TensorFlow has no fused kernel and times the same either way.
AUTO_EXPLICIT_MAX_LENGTH = {("jax", "cpu"): 4096}
IMPLEMENTATIONS = ("auto", "fused", "explicit")
IMPLEMENTATION = MixingOption(
    "implementation", "auto", IMPLEMENTATIONS,
    help="the fused attention kernel or written-out scores; see AttentionMixing",
)


def check_heads(layer, hidden):
    if hidden % layer.num_heads:
        raise ValueError(
            f"{type(layer).__name__}: hidden size {hidden} is not divisible by "
            f"num_heads={layer.num_heads}."
        )


def build_projections(layer, input_shape):
    """Give `layer` its per-head `query`, `key`, `value` projections
    (`[batch, seq, hidden] -> [batch, seq, heads, head_dim]`) and its
    `output_dense` back to the hidden size, as `keras.layers.EinsumDense`."""
    hidden = input_shape[-1]
    check_heads(layer, hidden)
    layer.head_dim = hidden // layer.num_heads
    dense = dict(kernel_initializer=layer.kernel_initializer, dtype=layer.dtype_policy)
    heads = (None, layer.num_heads, layer.head_dim)
    for name in ("query", "key", "value"):
        projection = keras.layers.EinsumDense(
            "bnh,hgd->bngd", heads, bias_axes="gd", name=name, **dense
        )
        projection.build(input_shape)
        setattr(layer, name, projection)
    layer.output_dense = keras.layers.EinsumDense(
        "bngd,gdh->bnh", (None, hidden), bias_axes="h", name="output", **dense
    )
    layer.output_dense.build((input_shape[0], input_shape[1], layer.num_heads, layer.head_dim))


@register_mixing("attention", options={"attention_implementation": IMPLEMENTATION})
class AttentionMixing(MixingLayer):
    """Multi-head scaled dot-product self-attention (BERT's mixing sublayer).

    Padded keys (`padding_mask == 0`) get no attention weight. A training step
    with dropout writes the probabilities out to drop them, as BERT does;
    otherwise `implementation` chooses how the attention is computed.

    Args:
        num_heads: number of heads; must divide the hidden size.
        dropout: dropout rate on the attention probabilities.
        implementation: (the config's `mixing_options["attention_implementation"]`)
            `"fused"`: `keras.ops.dot_product_attention`, the
            backend's fused kernel (PyTorch SDPA, cuDNN/flash on GPU);
            `"explicit"`: scaled queries, scores, masked softmax, weighted sum
            (keras-hub's BERT path); `"auto"` (default): explicit up to the
            length that `AUTO_EXPLICIT_MAX_LENGTH` gives the backend and
            device (JAX on CPU: 4096), fused otherwise. Both give the same
            numbers up to rounding.
        kernel_initializer: initializer of the projections.
        **kwargs: standard layer arguments.

    Example:

    >>> layer = AttentionMixing(num_heads=2)
    >>> x = np.random.rand(2, 5, 8).astype("float32")
    >>> tuple(layer(x, padding_mask=np.array([[1, 1, 1, 0, 0]] * 2)).shape)
    (2, 5, 8)
    """

    uses_heads = True
    quadratic_in_length = True

    def __init__(self, num_heads, dropout=0.0, implementation="auto", kernel_initializer=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.implementation = IMPLEMENTATION.check(implementation, "implementation")
        self.kernel_initializer = default_initializer(kernel_initializer)

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(num_heads=config.num_heads, dropout=config.dropout,
                   **cls.option_arguments(config), **kwargs)

    def resolved_implementation(self, seq_length=None):
        """`"fused"` or `"explicit"`: what inference (no dropout) runs here at
        `seq_length` (None: unknown until run time, taken as short)."""
        if self.implementation != "auto":
            return self.implementation
        device = (keras.backend.backend(), backend_specific.device_kind())
        limit = AUTO_EXPLICIT_MAX_LENGTH.get(device, 0)
        return "explicit" if (seq_length or 1) <= limit else "fused"

    def build(self, input_shape):
        super().build(input_shape)
        build_projections(self, input_shape)
        self.softmax = keras.layers.Softmax(axis=-1, dtype=self.dtype_policy)
        self.probability_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, padding_mask=None, training=None):
        query, key, value = self.query(inputs), self.key(inputs), self.value(inputs)
        scale = 1.0 / math.sqrt(self.head_dim)
        mask = None
        if padding_mask is not None:
            # [batch, 1, 1, keys]: every query may attend to the real keys.
            mask = ops.cast(padding_mask, "bool")[:, None, None, :]
        dropout = bool(training) and self.dropout > 0
        if not dropout and self.resolved_implementation(inputs.shape[1]) == "fused":
            attended = ops.dot_product_attention(query, key, value, mask=mask, scale=scale)
        else:
            scores = ops.einsum("bkgd,bqgd->bgqk", key, query * ops.cast(scale, query.dtype))
            weights = self.softmax(scores, mask=mask)
            if dropout:
                weights = self.probability_dropout(weights, training=training)
            attended = ops.einsum("bgqk,bkgd->bqgd", weights, value)
        return self.output_dense(attended)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "implementation": self.implementation,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
