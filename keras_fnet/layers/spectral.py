"""Parameter-free 2-D transforms over the sequence and hidden axes.

FNet's mixing sublayer and the appendix's alternatives. Each one is a fixed
linear map written as a sum of two-sided matrix products,

    y = sum_k  L_k(n) @ x @ R_k(h)       (x: [..., n, h])

with `L_k` over the sequence axis and `R_k` over the hidden axis. The `"dft"`
implementation evaluates exactly that with matmuls (the paper's TPU path); the
Fourier and Hartley layers can also use FFTs (`"fft"`).

All transforms are unnormalized, like the official FNet checkpoints, and run
in float32 whatever the dtype policy: JAX and TensorFlow CPU FFTs reject half
precision, and the unnormalized sums overflow float16 quickly (the DC term of
a 512 x 768 input of mean 0.5 is about 2e5; float16 stops at 65504). The
result stays float32: the block's residual add and LayerNorm take it as it
is, so a `mixed_float16` model stays finite; the LayerNorm's output is in the
compute dtype again.
"""

import functools
import math

import keras
import numpy as np
from keras import ops

from keras_fnet import backend_specific
from keras_fnet.layers.base import MixingLayer, register_mixing

# Largest sequence length for which `implementation="auto"` uses the matmul
# (DFT-matrix) path, per device kind. CPU: `python -m benchmarks.mixing` (see
# benchmarks/results/mixing.md) finds the FFT faster than the matmuls at every
# length from 64 to 4096 on every backend, forward and backward, so the CPU
# never uses them. The TPU number is the paper's (matmuls win up to 4096 on
# TPU, FFT beyond); on GPU the paper and the official code use the FFT at every
# length.
AUTO_DFT_MAX_LENGTH = {"cpu": 0, "gpu": 0, "tpu": 4096}

# How `implementation="fft"` computes `Re(FFT2(x))` of a real `x`, per Keras
# backend (see `real_fft2`); chosen by `python -m benchmarks.mixing`.
FFT_ALGORITHM = {"jax": "rfft", "tensorflow": "rfft", "torch": "fft2"}


def _re_fft2_complex(x):
    """`Re(FFT2(x))` with one complex 2-D FFT of `x + 0i` (keras-hub's way)."""
    real, _ = ops.fft2((x, ops.zeros_like(x)))
    return real


def _re_fft2_rfft(x):
    """`Re(FFT2(x))` from a real FFT over the hidden axis (half the work).

    `rfft` gives the columns `k = 0 .. h//2` of the 1-D transform over the
    hidden axis; a complex FFT over the sequence axis then gives those columns
    of the 2-D transform `F`. The other columns follow from the symmetry of a
    real input's transform, `Re F[j, k] = Re F[-j mod n, h - k]`.
    """
    h = x.shape[-1]
    real, imag = ops.rfft(x)  # [..., n, m], m = h // 2 + 1
    # Sequence axis last for `ops.fft`: [..., m, n].
    real, _ = ops.fft((ops.swapaxes(real, -1, -2), ops.swapaxes(imag, -1, -2)))
    m = h // 2 + 1
    if h - m > 0:
        # Rows k = h - m .. 1 (reversed) hold columns m .. h - 1 of the
        # output, with the sequence index negated: j -> -j mod n.
        tail = ops.flip(real[..., 1 : h - m + 1, :], axis=-2)
        tail = ops.concatenate(
            [tail[..., :1], ops.flip(tail[..., 1:], axis=-1)], axis=-1
        )
        real = ops.concatenate([real, tail], axis=-2)
    return ops.swapaxes(real, -1, -2)


_RE_FFT2 = {"fft2": _re_fft2_complex, "rfft": _re_fft2_rfft}


def real_fft2(x, algorithm=None):
    """`Re(FFT2(x))` over the last two axes of a real float32 tensor `x`.

    The map is linear and self-adjoint (`C_n x C_h - S_n x S_h` with symmetric
    cosine and sine matrices), so its gradient is the same transform of the
    upstream gradient: a custom gradient runs one more forward transform
    instead of differentiating through complex FFTs, and keeps nothing alive
    for the backward pass.

    Args:
        x: real float32 tensor `[..., n, h]`.
        algorithm: `"rfft"` (a real FFT over the hidden axis, then a complex
            FFT over the sequence axis) or `"fft2"` (one complex 2-D FFT);
            `None` picks `FFT_ALGORITHM[backend]`. Both are exact.
    """
    if algorithm is None:
        algorithm = FFT_ALGORITHM.get(keras.backend.backend(), "fft2")
    transform = _RE_FFT2[algorithm]

    @ops.custom_gradient
    def forward(inputs):
        def grad(*args, upstream=None):
            if upstream is None:  # JAX and TensorFlow pass it positionally.
                (upstream,) = args
            return transform(upstream)

        return transform(inputs), grad

    return forward(x)


@functools.lru_cache(maxsize=64)
def _cos_sin(n):
    """cos and sin of 2*pi*j*k/n as float32 numpy arrays (exact index mod n)."""
    index = np.arange(n, dtype=np.int64)
    angle = 2.0 * np.pi * (np.outer(index, index) % n) / n
    return np.cos(angle).astype("float32"), np.sin(angle).astype("float32")


def _cos_sin_dynamic(n):
    """cos and sin of 2*pi*j*k/n for a length known only at run time."""
    index = ops.arange(n, dtype="int32")
    phase = ops.mod(ops.expand_dims(index, 1) * ops.expand_dims(index, 0), n)
    angle = ops.cast(phase, "float32") * (2.0 * math.pi) / ops.cast(n, "float32")
    return ops.cos(angle), ops.sin(angle)


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


def _static_length(x, axis):
    length = x.shape[axis]
    return length if isinstance(length, int) else None


class SpectralMixing(MixingLayer):
    """Base of the fixed 2-D transforms: `y = sum_k L_k @ x @ R_k`.

    Subclasses give `_terms(seq_length, hidden_dim, static)`, the list of
    `(L_k, R_k)` pairs, as numpy arrays when `static` (the sequence length is
    known when tracing) and as tensors otherwise.
    """

    def _terms(self, n, h, static):
        raise NotImplementedError

    def _matmul_transform(self, x):
        h = x.shape[-1]
        n = _static_length(x, -2)
        static = n is not None
        terms = self._terms(n if static else ops.shape(x)[-2], h, static)
        if len(terms) == 1:
            left, right = terms[0]
            return ops.matmul(left, ops.matmul(x, right))
        # One wide matmul over the hidden axis, then one matmul per term over
        # the sequence axis.
        right = ops.concatenate([r for _, r in terms], axis=1)
        mixed = ops.matmul(x, right)
        y = None
        for k, (left, _) in enumerate(terms):
            part = ops.matmul(left, mixed[..., k * h : (k + 1) * h])
            y = part if y is None else y + part
        return y

    def _transform(self, x):
        return self._matmul_transform(x)

    def call(self, inputs, padding_mask=None):
        del padding_mask  # A fixed transform mixes every position, as the paper.
        x = ops.cast(inputs, "float32")
        if 0 in tuple(x.shape):  # Empty batch or sequence (oneMKL rejects it).
            return x
        return self._transform(x)


def _as_tensors(*arrays):
    return [ops.convert_to_tensor(a) for a in arrays]


@register_mixing("fourier")
class FourierMixing(SpectralMixing):
    """FNet's mixing: the real part of a 2-D DFT over the last two axes.

    `y = Re(DFT_seq(DFT_hidden(x)))`, unnormalized, which is also
    `C_n @ x @ C_h - S_n @ x @ S_h` with `C`, `S` the cosine and sine DFT
    matrices. The map is linear and self-adjoint, so its gradient is
    `Re(DFT_seq(DFT_hidden(g)))`. Any sequence length and hidden size work.
    The output is float32 whatever the dtype policy (see the module's notes).

    Args:
        implementation: `"fft"` uses FFTs (`real_fft2`: a real FFT over the
            hidden axis and a complex FFT over the sequence axis, or one
            complex `keras.ops.fft2`, per `FFT_ALGORITHM[backend]`), with the
            transform itself as its gradient; `"dft"` uses the precomputed
            real cosine/sine matrices and matmuls (the paper's TPU path);
            `"auto"` (default) uses `"dft"` when the sequence length is at
            most `AUTO_DFT_MAX_LENGTH[device]` (TPU 4096; CPU and GPU never,
            see `benchmarks/results/mixing.md`) and `"fft"` otherwise,
            including when the length is unknown until run time.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Example:

    >>> x = np.random.rand(2, 7, 5).astype("float32")
    >>> y = FourierMixing()(x)
    >>> np.allclose(y, np.fft.fft2(x).real, atol=1e-4)
    True
    """

    def __init__(self, implementation="auto", **kwargs):
        super().__init__(**kwargs)
        if implementation not in ("auto", "fft", "dft"):
            raise ValueError(
                "`implementation` must be 'auto', 'fft' or 'dft', got "
                f"{implementation!r}."
            )
        self.implementation = implementation

    @classmethod
    def from_encoder_config(cls, config, index, **kwargs):
        return cls(implementation=config.fourier_implementation, **kwargs)

    def resolved_implementation(self, seq_length):
        """The implementation used for `seq_length` (None: unknown)."""
        if self.implementation != "auto":
            return self.implementation
        if seq_length is None:
            return "fft"
        limit = AUTO_DFT_MAX_LENGTH.get(backend_specific.device_kind(), 0)
        return "dft" if seq_length <= limit else "fft"

    def _terms(self, n, h, static):
        if static:
            cos_n, sin_n = _cos_sin(n)
            cos_h, sin_h = _cos_sin(h)
            return [tuple(_as_tensors(cos_n, cos_h)), tuple(_as_tensors(-sin_n, sin_h))]
        cos_n, sin_n = _cos_sin_dynamic(n)
        cos_h, sin_h = _as_tensors(*_cos_sin(h))
        return [(cos_n, cos_h), (-sin_n, sin_h)]

    def _transform(self, x):
        if self.resolved_implementation(_static_length(x, -2)) == "dft":
            return self._matmul_transform(x)
        return real_fft2(x)

    def get_config(self):
        return {**super().get_config(), "implementation": self.implementation}


@register_mixing("hartley")
class HartleyMixing(FourierMixing):
    """2-D discrete Hartley transform: `Re(F) - Im(F)` of the 2-D DFT `F`.

    A real-to-real relative of FNet's transform (Model Garden's Hartley mixing):
    it keeps the information that `Re(F)` alone discards. Unnormalized.

    Args:
        implementation: as `FourierMixing`.
        **kwargs: standard layer arguments.

    Example:

    >>> x = np.random.rand(2, 6, 4).astype("float32")
    >>> f = np.fft.fft2(x)
    >>> np.allclose(HartleyMixing()(x), f.real - f.imag, atol=1e-4)
    True
    """

    def _terms(self, n, h, static):
        if static:
            cos_n, sin_n = _cos_sin(n)
            cos_h, sin_h = _cos_sin(h)
            return [
                tuple(_as_tensors(cos_n, cos_h + sin_h)),
                tuple(_as_tensors(sin_n, cos_h - sin_h)),
            ]
        cos_n, sin_n = _cos_sin_dynamic(n)
        cos_h, sin_h = _cos_sin(h)
        plus, minus = _as_tensors(cos_h + sin_h, cos_h - sin_h)
        return [(cos_n, plus), (sin_n, minus)]

    def _transform(self, x):
        if self.resolved_implementation(_static_length(x, -2)) == "dft":
            return self._matmul_transform(x)
        real, imag = ops.fft2((x, ops.zeros_like(x)))
        return real - imag


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
