"""Self-attention mixing: the BERT baseline and Performer's FAVOR+."""

import math

import keras
import numpy as np
from keras import ops

from keras_fnet import backend_specific
from keras_fnet.layers.base import MixingLayer, default_initializer, register_mixing

# `AttentionMixing(implementation="auto")`: the longest sequence for which a
# (backend, device kind) writes the attention probabilities out instead of
# calling the fused kernel (absent: always fused). JAX on a CPU, measured inside
# BERT's inference step (README, "Speed"): the written-out path, keras-hub's, is
# 0.79-0.94x the time of JAX's fused `dot_product_attention` from 512 to 4096
# tokens, and 1.47x at 8192. PyTorch's SDPA is about twice as fast as the
# written-out path; TensorFlow has no fused kernel and times the same either way.
AUTO_EXPLICIT_MAX_LENGTH = {("jax", "cpu"): 4096}
IMPLEMENTATIONS = ("auto", "fused", "explicit")


def _check_heads(layer, hidden):
    if hidden % layer.num_heads:
        raise ValueError(
            f"{type(layer).__name__}: hidden size {hidden} is not divisible by "
            f"num_heads={layer.num_heads}."
        )


def _build_projections(layer, input_shape):
    """Give `layer` its per-head `query`, `key`, `value` projections
    (`[batch, seq, hidden] -> [batch, seq, heads, head_dim]`) and its
    `output_dense` back to the hidden size, as `keras.layers.EinsumDense`."""
    hidden = input_shape[-1]
    _check_heads(layer, hidden)
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


@register_mixing("attention")
class AttentionMixing(MixingLayer):
    """Multi-head scaled dot-product self-attention (BERT's mixing sublayer).

    Padded keys (`padding_mask == 0`) get no attention weight. A training step
    with dropout writes the probabilities out to drop them, as BERT does;
    otherwise `implementation` chooses how the attention is computed.

    Args:
        num_heads: number of heads; must divide the hidden size.
        dropout: dropout rate on the attention probabilities.
        implementation: `"fused"`: `keras.ops.dot_product_attention`, the
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
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"`implementation` must be one of {', '.join(map(repr, IMPLEMENTATIONS))}, "
                f"got {implementation!r}."
            )
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.implementation = implementation
        self.kernel_initializer = default_initializer(kernel_initializer)

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(num_heads=config.num_heads, dropout=config.dropout,
                   implementation=config.attention_implementation, **kwargs)

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
        _build_projections(self, input_shape)
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


def orthogonal_gaussian_features(num_features, dim, rng):
    """FAVOR+'s projection: stacked random orthogonal blocks, rows scaled to
    the norms of Gaussian vectors (Choromanski et al. 2021, section 2.4)."""
    blocks = []
    for _ in range(math.ceil(num_features / dim)):
        q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        blocks.append(q.T)
    matrix = np.concatenate(blocks, axis=0)[:num_features]
    norms = np.linalg.norm(rng.normal(size=(num_features, dim)), axis=1)
    return (matrix * norms[:, None]).astype("float32")


@register_mixing("performer")
class PerformerMixing(MixingLayer):
    """FAVOR+ self-attention with positive random features (Performer).

    Approximates softmax attention in time linear in the sequence length:
    `phi(x) = exp(w_i . x - |x|^2 / 2) / sqrt(m)` for `m` orthogonal Gaussian
    features `w_i` per head, applied to queries and keys scaled by
    `head_dim ** -0.25`; then `out = phi(Q) (phi(K)^T V) / (phi(Q) phi(K)^T 1)`.
    Padded keys are removed from both sums. The features are drawn once from
    `seed` and saved as a non-trainable weight. Computed in float32.

    Args:
        num_heads: number of heads; must divide the hidden size.
        num_random_features: features per head (`m`).
        seed: seed of the random features.
        dropout: dropout rate on the output (FAVOR+ has no attention matrix to
            drop out of).
        kernel_initializer: initializer of the projections.
        **kwargs: standard layer arguments.

    Example:

    >>> layer = PerformerMixing(num_heads=2, num_random_features=16)
    >>> tuple(layer(np.random.rand(2, 5, 8).astype("float32")).shape)
    (2, 5, 8)
    """

    uses_heads = True

    def __init__(
        self,
        num_heads,
        num_random_features=256,
        seed=0,
        dropout=0.0,
        kernel_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.num_random_features = int(num_random_features)
        self.seed = int(seed)
        self.dropout = float(dropout)
        self.kernel_initializer = default_initializer(kernel_initializer)

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(
            num_heads=config.num_heads,
            num_random_features=config.num_random_features,
            seed=config.seed + index,
            dropout=config.dropout,
            **kwargs,
        )

    def build(self, input_shape):
        super().build(input_shape)
        _build_projections(self, input_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        features = orthogonal_gaussian_features(
            self.num_random_features, self.head_dim, np.random.default_rng(self.seed)
        )
        self.features = self.add_weight(
            name="features", shape=features.shape, initializer="zeros",
            trainable=False, dtype="float32",
        )
        self.features.assign(features)

    def _feature_map(self, x, keep=None):
        """Positive random features of queries (`keep` None) or keys.

        `x`: [batch, seq, heads, head_dim] float32, already scaled. Any
        constant shared by all keys of a head cancels in the normalization,
        as does any per-query constant; they keep `exp` in range. The key
        constant is taken over real keys only, so padding changes nothing.
        """
        projection = ops.einsum("bngd,md->bngm", x, ops.cast(self.features, "float32"))
        exponent = projection - 0.5 * ops.sum(ops.square(x), axis=-1, keepdims=True)
        if keep is None:
            stabilizer = ops.max(projection, axis=-1, keepdims=True)
            return ops.exp(exponent - ops.stop_gradient(stabilizer)) / math.sqrt(
                self.num_random_features
            )
        # Padded keys get a finite exponent of -80 and then a weight of
        # exactly 0; a row without real keys gets a stabilizer of 0. So every
        # value and gradient stays finite, even for an all-padding row.
        real = keep > 0
        stabilizer = ops.max(ops.where(real, projection, -1e30), axis=(1, 3), keepdims=True)
        stabilizer = ops.where(ops.any(real, axis=1, keepdims=True), stabilizer, 0.0)
        exponent = ops.where(real, exponent - ops.stop_gradient(stabilizer), -80.0)
        return ops.exp(exponent) * keep / math.sqrt(self.num_random_features)

    def call(self, inputs, padding_mask=None, training=None):
        if 0 in tuple(inputs.shape):  # Empty batch or sequence: torch has no max of nothing.
            return ops.zeros_like(inputs)
        scale = self.head_dim ** -0.25
        q = ops.cast(self.query(inputs), "float32") * scale
        k = ops.cast(self.key(inputs), "float32") * scale
        v = ops.cast(self.value(inputs), "float32")
        if padding_mask is None:
            keep = ops.ones_like(k[:, :, :1, :1])
        else:
            keep = ops.cast(padding_mask, "float32")[:, :, None, None]
        q_features = self._feature_map(q)
        k_features = self._feature_map(k, keep)
        key_values = ops.einsum("bngm,bngd->bgmd", k_features, v)
        numerator = ops.einsum("bngm,bgmd->bngd", q_features, key_values)
        denominator = ops.einsum("bngm,bgm->bng", q_features, ops.sum(k_features, axis=1))
        attended = numerator / (denominator[..., None] + 1e-12)
        attended = ops.cast(attended, self.compute_dtype)
        return self.dropout_layer(self.output_dense(attended), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "num_random_features": self.num_random_features,
            "seed": self.seed,
            "dropout": self.dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
