"""Parameter-free 2-D transforms over the sequence and hidden axes: their base.

The base of FNet's mixing sublayer and the appendix's alternatives (the
`fourier` and `dct` modules), and the FFT formulations. Each one is a fixed
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

from keras_fnet.layers.base import MixingLayer

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
def cos_sin(n):
    """cos and sin of 2*pi*j*k/n as float32 numpy arrays (exact index mod n)."""
    index = np.arange(n, dtype=np.int64)
    angle = 2.0 * np.pi * (np.outer(index, index) % n) / n
    return np.cos(angle).astype("float32"), np.sin(angle).astype("float32")


def cos_sin_dynamic(n):
    """cos and sin of 2*pi*j*k/n for a length known only at run time."""
    index = ops.arange(n, dtype="int32")
    phase = ops.mod(ops.expand_dims(index, 1) * ops.expand_dims(index, 0), n)
    angle = ops.cast(phase, "float32") * (2.0 * math.pi) / ops.cast(n, "float32")
    return ops.cos(angle), ops.sin(angle)


def static_length(x, axis):
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
        n = static_length(x, -2)
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


def as_tensors(*arrays):
    return [ops.convert_to_tensor(a) for a in arrays]
