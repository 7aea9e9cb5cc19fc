"""Fixed transforms against NumPy/SciPy references, on odd and prime shapes."""

import keras
import numpy as np
import pytest
import scipy.fft
import scipy.linalg

from keras_fnet.layers import DCTMixing, FourierMixing, HadamardMixing, HartleyMixing
from keras_fnet.layers.mixing import dct, fourier, spectral

SHAPES = [(2, 7, 5), (3, 13, 11), (1, 1, 1), (2, 1, 9), (2, 9, 1), (2, 16, 8), (1, 31, 17)]
IMPLEMENTATIONS = ["fft", "dft"]


def _close(actual, expected, rtol=1e-5):
    """Max abs error relative to the reference's magnitude (sums grow with size)."""
    scale = max(1.0, float(np.abs(expected).max()))
    err = float(np.abs(np.asarray(actual, "float64") - expected).max())
    assert err <= rtol * scale, f"max abs error {err} > {rtol} * {scale}"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_fourier_is_real_part_of_2d_dft(shape, implementation, to_numpy):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    y = to_numpy(FourierMixing(implementation)(x))
    assert y.shape == shape
    _close(y, np.fft.fft2(x.astype("float64")).real)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_hartley_is_real_minus_imag(shape, implementation, to_numpy):
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    f = np.fft.fft2(x.astype("float64"))
    _close(to_numpy(HartleyMixing(implementation)(x)), f.real - f.imag)


@pytest.mark.parametrize("shape", SHAPES)
def test_dct_matches_scipy(shape, to_numpy):
    x = np.random.default_rng(2).normal(size=shape).astype("float32")
    want = scipy.fft.dctn(x.astype("float64"), type=2, axes=(-2, -1))
    _close(to_numpy(DCTMixing()(x)), want)


@pytest.mark.parametrize("shape", [(2, 4, 8), (1, 16, 2), (1, 1, 1)])
def test_hadamard_matches_scipy_for_powers_of_two(shape, to_numpy):
    x = np.random.default_rng(3).normal(size=shape)
    n, h = shape[-2:]
    want = scipy.linalg.hadamard(n) @ x @ scipy.linalg.hadamard(h)
    _close(to_numpy(HadamardMixing()(x.astype("float32"))), want)


@pytest.mark.parametrize("shape", [(2, 5, 6), (1, 3, 7), (1, 12, 3)])
def test_hadamard_other_lengths_zero_pad_and_truncate(shape, to_numpy):
    """The docstring's promise: pad each axis to a power of two, transform, keep the head."""
    x = np.random.default_rng(4).normal(size=shape)
    n, h = shape[-2:]
    pn, ph = (1 << (n - 1).bit_length()), (1 << (h - 1).bit_length())
    padded = np.zeros(shape[:-2] + (pn, ph))
    padded[..., :n, :h] = x
    want = (scipy.linalg.hadamard(pn) @ padded @ scipy.linalg.hadamard(ph))[..., :n, :h]
    _close(to_numpy(HadamardMixing()(x.astype("float32"))), want)


@pytest.mark.parametrize("shape", [(2, 64, 48), (1, 127, 33), (2, 256, 64)])
def test_fft_and_dft_agree(shape, to_numpy):
    x = np.random.default_rng(5).normal(size=shape).astype("float32")
    _close(to_numpy(FourierMixing("fft")(x)), to_numpy(FourierMixing("dft")(x)))


@pytest.mark.parametrize("n", [1, 6, 7, 12])
def test_run_time_length_matrices_match_static_ones(n, to_numpy):
    """The matrices built for a length known only at run time (TF graphs)."""
    length = keras.ops.convert_to_tensor(n, dtype="int32")
    cos, sin = spectral.cos_sin_dynamic(length)
    want_cos, want_sin = spectral.cos_sin(n)
    np.testing.assert_allclose(to_numpy(cos), want_cos, atol=1e-5)
    np.testing.assert_allclose(to_numpy(sin), want_sin, atol=1e-5)
    np.testing.assert_allclose(
        to_numpy(dct._dct_matrix_dynamic(length)), dct._dct_matrix(n), atol=1e-4
    )
    np.testing.assert_array_equal(
        to_numpy(dct._hadamard_matrix_dynamic(length)), dct._hadamard_matrix(n)
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_variable_length_inside_a_functional_model(implementation, to_numpy):
    inputs = keras.Input(shape=(None, 6))
    model = keras.Model(inputs, FourierMixing(implementation)(inputs))
    for length in (5, 11):
        x = np.random.default_rng(length).normal(size=(2, length, 6)).astype("float32")
        _close(to_numpy(model.predict(x, verbose=0)), np.fft.fft2(x.astype("float64")).real)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_gradient_is_the_transform_of_the_cotangent(implementation, gradient):
    """Re(F_n X F_h) is self-adjoint: d<g, y>/dx = Re(F_n g F_h)."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 9, 7)).astype("float32")
    g = rng.normal(size=(2, 9, 7)).astype("float32")
    layer = FourierMixing(implementation)
    grad = gradient(lambda v: layer(v) * keras.ops.convert_to_tensor(g), x)
    _close(grad, np.fft.fft2(g.astype("float64")).real)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "bfloat16"])
@pytest.mark.parametrize(
    "layer_class", [FourierMixing, HartleyMixing, DCTMixing, HadamardMixing]
)
def test_half_precision_policies_compute_in_float32(policy, layer_class, to_numpy):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 12, 8)).astype("float32")
    want = to_numpy(layer_class(dtype="float32")(x))
    implementations = ["fft", "dft"] if layer_class in (FourierMixing, HartleyMixing) else [None]
    for implementation in implementations:
        kwargs = {"implementation": implementation} if implementation else {}
        layer = layer_class(dtype=policy, **kwargs)
        y = layer(x)
        # The transform's output stays float32 (the block's LayerNorm takes it).
        assert keras.backend.standardize_dtype(y.dtype) == "float32"
        y = to_numpy(y)
        assert np.isfinite(y).all()
        # Only the input rounding is in half precision.
        _close(y, want, rtol=2e-2)


def test_auto_rule_follows_the_table(monkeypatch):
    monkeypatch.setattr(fourier.backend_specific, "device_kind", lambda: "cpu")
    monkeypatch.setitem(fourier.AUTO_DFT_MAX_LENGTH, "cpu", 256)
    layer = FourierMixing()
    assert layer.resolved_implementation(256) == "dft"
    assert layer.resolved_implementation(257) == "fft"
    assert layer.resolved_implementation(None) == "fft"
    assert FourierMixing("fft").resolved_implementation(8) == "fft"


def test_bad_implementation_names_the_choices():
    with pytest.raises(ValueError, match="'auto', 'fft', 'dft'"):
        FourierMixing("matmul")


def test_serialization_round_trip():
    layer = HartleyMixing("dft", name="mix")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is HartleyMixing and clone.implementation == "dft"


@pytest.mark.parametrize("algorithm", ["rfft", "fft2"])
@pytest.mark.parametrize("shape", [(2, 7, 5), (1, 6, 8), (2, 1, 1), (1, 9, 2), (3, 4, 3)])
def test_both_fft_algorithms_and_their_gradient(algorithm, shape, to_numpy, gradient):
    """`real_fft2` per algorithm (even and odd hidden sizes) and its custom gradient."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=shape).astype("float32")
    g = rng.normal(size=shape).astype("float32")
    _close(to_numpy(spectral.real_fft2(x, algorithm)), np.fft.fft2(x.astype("float64")).real)
    grad = gradient(
        lambda v: spectral.real_fft2(v, algorithm) * keras.ops.convert_to_tensor(g), x
    )
    _close(grad, np.fft.fft2(g.astype("float64")).real)
