"""Performer's FAVOR+: softmax attention approximated in time linear in length."""

import math

import keras
import numpy as np
from keras import ops

from keras_fnet.layers.base import (
    MixingLayer,
    MixingOption,
    default_initializer,
    register_mixing,
)
from keras_fnet.layers.mixing.attention import build_projections

NUM_RANDOM_FEATURES = MixingOption(
    "num_random_features", 256, help="random features per head of Performer's FAVOR+",
)


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


@register_mixing("performer", options={"num_random_features": NUM_RANDOM_FEATURES})
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
        num_random_features: features per head (`m`; the config's
            `mixing_options["num_random_features"]`).
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
        self.num_random_features = NUM_RANDOM_FEATURES.check(
            num_random_features, "num_random_features")
        self.seed = int(seed)
        self.dropout = float(dropout)
        self.kernel_initializer = default_initializer(kernel_initializer)

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(
            num_heads=config.num_heads,
            seed=config.seed + index,
            dropout=config.dropout,
            **cls.option_arguments(config),
            **kwargs,
        )

    def build(self, input_shape):
        super().build(input_shape)
        build_projections(self, input_shape)
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
