"""Mixing by dense matrices over the sequence and hidden axes.

`LinearMixing` learns the two matrices; `RandomMixing` fixes them at random
(the paper's "structure matters" control).
"""

import keras
import numpy as np
from keras import ops

from keras_fnet import keras_compat
from keras_fnet.layers.base import MixingLayer, default_initializer, register_mixing


def _check_length(layer, x):
    length = x.shape[-2]
    if isinstance(length, int) and length > layer.max_sequence_length:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} has matrices for at most "
            f"{layer.max_sequence_length} positions, got a sequence of {length}."
        )


# Let a built layer add weights, as Keras's own `Dense.enable_lora` does.
_unlocked = keras_compat.unlocked


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

    def _kernels(self, n):
        """The sequence matrix's leading `n x n` block and the hidden matrix."""
        return self.seq_kernel[:n, :n], self.hidden_kernel

    def call(self, inputs, padding_mask=None):
        del padding_mask  # Mixes every position, as the paper.
        _check_length(self, inputs)
        seq, hidden = self._kernels(ops.shape(inputs)[-2])
        return ops.matmul(seq, ops.matmul(inputs, hidden))

    def get_config(self):
        return {**super().get_config(), "max_sequence_length": self.max_sequence_length}


@register_mixing("linear")
class LinearMixing(_TwoMatrixMixing):
    """Learned mixing: `W_seq @ x @ W_hidden`, both matrices trained.

    `enable_lora(rank)` freezes both matrices and trains a low-rank update of
    each instead, as Keras's `Dense.enable_lora` does for its kernel.

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
    >>> layer.enable_lora(rank=2)
    >>> [w.name for w in layer.trainable_weights]
    ['lora_seq_kernel_a', 'lora_seq_kernel_b', 'lora_hidden_kernel_a', 'lora_hidden_kernel_b']
    """

    def __init__(self, max_sequence_length, kernel_initializer=None, **kwargs):
        super().__init__(max_sequence_length, **kwargs)
        self.kernel_initializer = default_initializer(kernel_initializer)
        self.lora_enabled = False
        self.lora_rank = None

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

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze both matrices and learn `W + (lora_alpha / rank) A @ B` for each.

        `A` is `[rows, rank]`, `B` `[rank, columns]`, both float32 as Keras's
        own adapters; `B` starts at zero, so the outputs are unchanged until the
        adapters train. An input of length `n` uses the leading block of the
        sequence update, `A[:n] @ B[:, :n]`. Saving writes the merged matrices
        (as Keras's `Dense` does), so the file loads into a plain layer.

        Args:
            rank: rank of the updates.
            lora_alpha: scale numerator (default: `rank`, a scale of 1).
            a_initializer, b_initializer: initializers of `A` and `B`.
        """
        if not self.built:
            raise ValueError(f"Cannot enable LoRA on {self.name!r} before it is built.")
        if self.lora_enabled:
            raise ValueError(f"LoRA is already enabled on {self.name!r}.")
        with _unlocked(self):
            for name in ("seq_kernel", "hidden_kernel"):
                rows, columns = getattr(self, name).shape
                for part, shape, initializer in (
                    ("a", (rows, rank), a_initializer), ("b", (rank, columns), b_initializer)
                ):
                    setattr(self, f"lora_{name}_{part}", self.add_weight(
                        name=f"lora_{name}_{part}", shape=shape, dtype="float32",
                        initializer=keras.initializers.get(initializer)))
                getattr(self, name).trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _kernels(self, n):
        seq, hidden = super()._kernels(n)
        if not self.lora_enabled:
            return seq, hidden
        scale = self.lora_alpha / self.lora_rank
        seq_update = ops.matmul(self.lora_seq_kernel_a[:n], self.lora_seq_kernel_b[:, :n])
        hidden_update = ops.matmul(self.lora_hidden_kernel_a, self.lora_hidden_kernel_b)
        return (ops.add(seq, ops.cast(scale * seq_update, seq.dtype)),
                ops.add(hidden, ops.cast(scale * hidden_update, hidden.dtype)))

    def save_own_variables(self, store):
        if not self.lora_enabled:
            return super().save_own_variables(store)
        for index, kernel in enumerate(self._kernels(self.max_sequence_length)):
            store[str(index)] = kernel

    def load_own_variables(self, store):
        if not self.lora_enabled:
            return super().load_own_variables(store)
        if len(store.keys()) != 2:
            raise ValueError(
                f"{self.name!r} expects 2 saved matrices, found {len(store.keys())} variables."
            )
        self.seq_kernel.assign(store["0"])
        self.hidden_kernel.assign(store["1"])
        for update in (self.lora_seq_kernel_b, self.lora_hidden_kernel_b):
            update.assign(ops.zeros(update.shape, update.dtype))

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
