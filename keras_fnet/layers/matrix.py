"""Mixing by dense matrices over the sequence and hidden axes, and no mixing.

`LinearMixing` learns the two matrices; `RandomMixing` fixes them at random
(the paper's "structure matters" control); `IdentityMixing` mixes nothing (the
FF-only baseline).
"""

import keras
import numpy as np
from keras import ops

from keras_fnet.layers.base import MixingLayer, default_initializer, register_mixing


def _check_length(layer, x):
    length = x.shape[-2]
    if isinstance(length, int) and length > layer.max_sequence_length:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} has matrices for at most "
            f"{layer.max_sequence_length} positions, got a sequence of {length}."
        )


class _TwoMatrixMixing(MixingLayer):
    """`y = W_seq[:n, :n] @ x @ W_hidden` for an input of length `n`."""

    def __init__(self, max_sequence_length, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_sequence_length, int) or max_sequence_length < 1:
            raise ValueError(
                "`max_sequence_length` must be a positive integer, got "
                f"{max_sequence_length!r}."
            )
        self.max_sequence_length = max_sequence_length

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(max_sequence_length=config.max_sequence_length, **kwargs)

    def call(self, inputs, padding_mask=None):
        del padding_mask  # Mixes every position, as the paper.
        _check_length(self, inputs)
        n = ops.shape(inputs)[-2]
        seq = self.seq_kernel[:n, :n]
        return ops.matmul(seq, ops.matmul(inputs, self.hidden_kernel))

    def get_config(self):
        return {**super().get_config(), "max_sequence_length": self.max_sequence_length}


@register_mixing("linear")
class LinearMixing(_TwoMatrixMixing):
    """Learned mixing: `W_seq @ x @ W_hidden`, both matrices trained.

    Args:
        max_sequence_length: size of the sequence matrix; shorter inputs use its
            leading block.
        kernel_initializer: initializer of both matrices (the official code
            uses a normal with stddev 0.02).
        **kwargs: standard layer arguments.

    Example:

    >>> layer = LinearMixing(max_sequence_length=16)
    >>> tuple(layer(np.ones((2, 10, 8), "float32")).shape)
    (2, 10, 8)
    """

    def __init__(self, max_sequence_length, kernel_initializer=None, **kwargs):
        super().__init__(max_sequence_length, **kwargs)
        self.kernel_initializer = default_initializer(kernel_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        hidden = input_shape[-1]
        length = self.max_sequence_length
        self.seq_kernel = self.add_weight(
            name="seq_kernel", shape=(length, length), initializer=self.kernel_initializer
        )
        self.hidden_kernel = self.add_weight(
            name="hidden_kernel", shape=(hidden, hidden), initializer=self.kernel_initializer
        )

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@register_mixing("random")
class RandomMixing(_TwoMatrixMixing):
    """Fixed random mixing: `R_seq @ x @ R_hidden`, matrices never trained.

    The matrices are drawn from a seeded normal with stddev `1/sqrt(fan_in)`
    (LeCun normal, as the official code) and stored as non-trainable weights, so
    a saved model reloads with the very same matrices on any backend (the
    official code regenerates them from a seed at load time).

    Args:
        max_sequence_length: size of the sequence matrix.
        seed: integer seed of the matrices.
        **kwargs: standard layer arguments.

    Example:

    >>> a = RandomMixing(max_sequence_length=8, seed=3)
    >>> b = RandomMixing(max_sequence_length=8, seed=3)
    >>> x = np.ones((1, 8, 4), "float32")
    >>> np.allclose(a(x), b(x))
    True
    """

    def __init__(self, max_sequence_length, seed=0, **kwargs):
        super().__init__(max_sequence_length, **kwargs)
        self.seed = int(seed)

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(config.max_sequence_length, seed=config.seed + index, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        hidden = input_shape[-1]
        length = self.max_sequence_length
        rng = np.random.default_rng(self.seed)
        values = {
            "seq_kernel": rng.normal(size=(length, length)) / np.sqrt(length),
            "hidden_kernel": rng.normal(size=(hidden, hidden)) / np.sqrt(hidden),
        }
        for name, value in values.items():
            weight = self.add_weight(
                name=name, shape=value.shape, initializer="zeros", trainable=False
            )
            weight.assign(value.astype(weight.dtype))
            setattr(self, name, weight)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@register_mixing("identity")
class IdentityMixing(MixingLayer):
    """No mixing at all: returns its input (the paper's FF-only baseline).

    Example:

    >>> x = np.ones((1, 3, 2), "float32")
    >>> np.array_equal(IdentityMixing()(x), x)
    True
    """

    def call(self, inputs, padding_mask=None):
        return inputs
