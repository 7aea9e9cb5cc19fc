"""The appendix's other fixed transforms: the 2-D DCT and Walsh-Hadamard transforms."""

import functools
import math

import numpy as np
from keras import ops

from keras_fnet.layers.base import register_mixing
from keras_fnet.layers.mixing.spectral import SpectralMixing


@functools.lru_cache(maxsize=64)
def _dct_matrix(n):
    """DCT-II matrix, unnormalized as scipy.fft.dct(type=2, norm=None)."""
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    return (2.0 * np.cos(np.pi * k * (2 * j + 1) / (2 * n))).astype("float32")


def _dct_matrix_dynamic(n):
    k = ops.cast(ops.expand_dims(ops.arange(n), 1), "float32")
    j = ops.cast(ops.expand_dims(ops.arange(n), 0), "float32")
    return 2.0 * ops.cos(math.pi * k * (2.0 * j + 1.0) / (2.0 * ops.cast(n, "float32")))


@functools.lru_cache(maxsize=64)
def _hadamard_matrix(n):
    """Leading n x n block of the Sylvester-Hadamard matrix of size 2**ceil(log2 n).

    Entry (i, j) is (-1) ** popcount(i & j). For a power of two this is the
    Hadamard matrix itself.
    """
    index = np.arange(n, dtype=np.int64)
    both = np.bitwise_and(index[:, None], index[None, :])
    parity = np.zeros_like(both)
    while both.any():
        parity ^= both & 1
        both >>= 1
    return (1 - 2 * parity).astype("float32")


def _hadamard_matrix_dynamic(n, max_bits=31):
    index = ops.arange(n, dtype="int32")
    both = ops.bitwise_and(ops.expand_dims(index, 1), ops.expand_dims(index, 0))
    parity = ops.zeros_like(both)
    for _ in range(max_bits):
        parity = ops.bitwise_xor(parity, ops.bitwise_and(both, 1))
        both = ops.right_shift(both, 1)
    return ops.cast(1 - 2 * parity, "float32")


@register_mixing("dct")
class DCTMixing(SpectralMixing):
    """2-D DCT-II over the sequence and hidden axes (the paper's appendix).

    Unnormalized, as `scipy.fft.dctn(x, type=2, axes=(-2, -1))`. Computed with
    two matmuls.

    Example:

    >>> import scipy.fft
    >>> x = np.random.rand(2, 5, 3).astype("float32")
    >>> np.allclose(DCTMixing()(x), scipy.fft.dctn(x, axes=(-2, -1)), atol=1e-4)
    True
    """

    def _terms(self, n, h, static):
        right = ops.convert_to_tensor(_dct_matrix(h).T)
        if static:
            return [(ops.convert_to_tensor(_dct_matrix(n)), right)]
        return [(_dct_matrix_dynamic(n), right)]


@register_mixing("hadamard")
class HadamardMixing(SpectralMixing):
    """2-D Walsh-Hadamard transform (Sylvester order, entries +-1, unnormalized).

    For a length that is not a power of two, the transform uses the leading
    `n x n` block of the Hadamard matrix of the next power of two: the same as
    zero-padding the axis to that power of two, transforming, and keeping the
    first `n` outputs. That block is no longer orthogonal (for n=3 its rows
    are not all orthogonal), so prefer powers of two for both axes.

    Example:

    >>> import scipy.linalg
    >>> x = np.random.rand(2, 4, 8).astype("float32")
    >>> want = scipy.linalg.hadamard(4) @ x @ scipy.linalg.hadamard(8)
    >>> np.allclose(HadamardMixing()(x), want, atol=1e-4)
    True
    """

    def _terms(self, n, h, static):
        right = ops.convert_to_tensor(_hadamard_matrix(h))
        if static:
            return [(ops.convert_to_tensor(_hadamard_matrix(n)), right)]
        return [(_hadamard_matrix_dynamic(n), right)]
