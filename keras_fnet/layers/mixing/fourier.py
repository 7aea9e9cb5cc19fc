"""FNet's Fourier mixing and its real-to-real relative, the Hartley transform."""

import numpy as np  # noqa: F401 (the examples use it)
from keras import ops

from keras_fnet import backend_specific
from keras_fnet.layers.base import MixingOption, register_mixing
from keras_fnet.layers.mixing.spectral import (
    SpectralMixing,
    as_tensors,
    cos_sin,
    cos_sin_dynamic,
    real_fft2,
    static_length,
)

# Largest sequence length for which `implementation="auto"` uses the matmul
# (DFT-matrix) path, per device kind. CPU: `python -m benchmarks.mixing` (see
# benchmarks/results/mixing.md) finds the FFT faster than the matmuls at every
# length from 64 to 4096 on every backend, forward and backward, so the CPU
# never uses them. The TPU number is the paper's (matmuls win up to 4096 on
# TPU, FFT beyond); on GPU the paper and the official code use the FFT at every
# length.
AUTO_DFT_MAX_LENGTH = {"cpu": 0, "gpu": 0, "tpu": 4096}

IMPLEMENTATION = MixingOption(
    "implementation", "auto", ("auto", "fft", "dft"),
    help="FFTs or DFT matrices for the Fourier and Hartley transforms; see FourierMixing",
)


@register_mixing("fourier", options={"fourier_implementation": IMPLEMENTATION})
class FourierMixing(SpectralMixing):
    """FNet's mixing: the real part of a 2-D DFT over the last two axes.

    `y = Re(DFT_seq(DFT_hidden(x)))`, unnormalized, which is also
    `C_n @ x @ C_h - S_n @ x @ S_h` with `C`, `S` the cosine and sine DFT
    matrices. The map is linear and self-adjoint, so its gradient is
    `Re(DFT_seq(DFT_hidden(g)))`. Any sequence length and hidden size work.
    The output is float32 whatever the dtype policy (see the module's notes).

    Args:
        implementation: (the config's `mixing_options["fourier_implementation"]`)
            `"fft"` uses FFTs (`real_fft2`: a real FFT over the
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
        self.implementation = IMPLEMENTATION.check(implementation, "implementation")

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
            cos_n, sin_n = cos_sin(n)
            cos_h, sin_h = cos_sin(h)
            return [tuple(as_tensors(cos_n, cos_h)), tuple(as_tensors(-sin_n, sin_h))]
        cos_n, sin_n = cos_sin_dynamic(n)
        cos_h, sin_h = as_tensors(*cos_sin(h))
        return [(cos_n, cos_h), (-sin_n, sin_h)]

    def _transform(self, x):
        if self.resolved_implementation(static_length(x, -2)) == "dft":
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
            cos_n, sin_n = cos_sin(n)
            cos_h, sin_h = cos_sin(h)
            return [
                tuple(as_tensors(cos_n, cos_h + sin_h)),
                tuple(as_tensors(sin_n, cos_h - sin_h)),
            ]
        cos_n, sin_n = cos_sin_dynamic(n)
        cos_h, sin_h = cos_sin(h)
        plus, minus = as_tensors(cos_h + sin_h, cos_h - sin_h)
        return [(cos_n, plus), (sin_n, minus)]

    def _transform(self, x):
        if self.resolved_implementation(static_length(x, -2)) == "dft":
            return self._matmul_transform(x)
        real, imag = ops.fft2((x, ops.zeros_like(x)))
        return real - imag
