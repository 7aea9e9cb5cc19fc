"""Linear, Random and Identity mixing against NumPy on their own weights."""

import numpy as np
import pytest

from keras_fnet.layers import IdentityMixing, LinearMixing, RandomMixing


@pytest.mark.parametrize("layer_class", [LinearMixing, RandomMixing])
@pytest.mark.parametrize("length", [1, 7, 12])
def test_two_sided_product_on_leading_block(layer_class, length, to_numpy):
    layer = layer_class(max_sequence_length=12)
    x = np.random.default_rng(0).normal(size=(2, length, 5)).astype("float32")
    y = to_numpy(layer(x))
    seq = to_numpy(layer.seq_kernel)[:length, :length]
    hidden = to_numpy(layer.hidden_kernel)
    np.testing.assert_allclose(y, seq @ x @ hidden, rtol=1e-4, atol=1e-5)


def test_linear_matrices_are_trained_and_random_ones_fixed():
    linear, fixed = LinearMixing(8), RandomMixing(8)
    for layer in (linear, fixed):
        layer.build((None, 8, 4))
    assert [w.shape for w in linear.trainable_weights] == [(8, 8), (4, 4)]
    assert not fixed.trainable_weights
    assert [w.shape for w in fixed.non_trainable_weights] == [(8, 8), (4, 4)]


def test_random_matrices_follow_the_seed(to_numpy):
    def kernels(seed):
        layer = RandomMixing(64, seed=seed)
        layer.build((None, 64, 32))
        return to_numpy(layer.seq_kernel), to_numpy(layer.hidden_kernel)

    a, b, c = kernels(1), kernels(1), kernels(2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])
    # LeCun normal: stddev 1/sqrt(fan_in).
    assert abs(a[0].std() - 1 / 8) < 0.01
    assert abs(a[1].std() - 1 / np.sqrt(32)) < 0.02


def test_too_long_input_is_named():
    with pytest.raises(ValueError, match="at most 4 positions, got a sequence of 6"):
        LinearMixing(4)(np.zeros((1, 6, 3), "float32"))


def test_identity_returns_input(to_numpy):
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(to_numpy(IdentityMixing()(x)), x)


def test_configs_round_trip():
    for layer in (LinearMixing(9), RandomMixing(9, seed=4), IdentityMixing()):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
