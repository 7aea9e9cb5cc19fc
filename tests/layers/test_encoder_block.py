"""The encoder block and embeddings against NumPy on their own weights."""

import numpy as np
import pytest

from keras_fnet.layers import (
    Embeddings,
    EncoderBlock,
    FeatureEmbeddings,
    FourierMixing,
    IdentityMixing,
)


def _layer_norm(x, layer, to_numpy, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * to_numpy(layer.gamma) + to_numpy(layer.beta)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _dense(x, layer, to_numpy):
    return x @ to_numpy(layer.kernel) + to_numpy(layer.bias)


def _randomize(layer, seed=0):
    """Non-zero biases and LayerNorm parameters, so that all of them are checked."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype(weight.dtype))


def test_post_layer_norm_block_matches_numpy(to_numpy):
    block = EncoderBlock(FourierMixing(), intermediate_dim=20, layer_norm_epsilon=1e-12)
    x = np.random.default_rng(1).normal(size=(2, 7, 6)).astype("float32")
    block(x)
    _randomize(block)
    y = to_numpy(block(x))
    xd = x.astype("float64")
    h = _layer_norm(xd + np.fft.fft2(xd).real, block.mixing_layer_norm, to_numpy)
    ff = _dense(_gelu_tanh(_dense(h, block.intermediate, to_numpy)), block.output_dense, to_numpy)
    want = _layer_norm(h + ff, block.output_layer_norm, to_numpy)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_block_serializes_its_mixing_layer():
    block = EncoderBlock(IdentityMixing(name="mix"), intermediate_dim=8, dropout=0.2)
    clone = EncoderBlock.from_config(block.get_config())
    assert isinstance(clone.mixing, IdentityMixing) and clone.dropout == 0.2


def test_embeddings_match_numpy(to_numpy):
    layer = Embeddings(50, 10, 3, embedding_dim=6, hidden_dim=8)
    tokens = np.array([[1, 4, 9, 2], [7, 7, 0, 3]])
    segments = np.array([[0, 0, 1, 2], [0, 1, 1, 1]])
    layer(tokens, segments)
    _randomize(layer, seed=2)
    y = to_numpy(layer(tokens, segments))
    e = (
        to_numpy(layer.token_embedding.embeddings)[tokens]
        + to_numpy(layer.segment_embedding.embeddings)[segments]
        + to_numpy(layer.position_embedding)[:4]
    )
    want = _dense(_layer_norm(e, layer.layer_norm, to_numpy), layer.projection, to_numpy)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_embeddings_name_what_is_wrong():
    layer = Embeddings(50, 4, 2, embedding_dim=6, hidden_dim=6)
    with pytest.raises(ValueError, match="length 5 is longer than max_sequence_length=4"):
        layer(np.zeros((1, 5), "int32"), np.zeros((1, 5), "int32"))
    with pytest.raises(TypeError, match="must be integers"):
        layer(np.zeros((1, 3), "float32"), np.zeros((1, 3), "int32"))
    with pytest.raises(ValueError, match=r"shape \[batch, sequence\]"):
        layer(np.zeros((3,), "int32"), np.zeros((3,), "int32"))


def test_pre_layer_norm_block_matches_numpy(to_numpy):
    block = EncoderBlock(FourierMixing(), intermediate_dim=20, norm_first=True)
    x = np.random.default_rng(3).normal(size=(2, 7, 6)).astype("float32")
    block(x)
    _randomize(block, seed=4)
    y = to_numpy(block(x))
    xd = x.astype("float64")
    h = xd + np.fft.fft2(_layer_norm(xd, block.mixing_layer_norm, to_numpy)).real
    normed = _layer_norm(h, block.output_layer_norm, to_numpy)
    want = h + _dense(_gelu_tanh(_dense(normed, block.intermediate, to_numpy)), block.output_dense,
                      to_numpy)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("positions", [True, False])
def test_feature_embeddings_match_numpy(positions, to_numpy):
    layer = FeatureEmbeddings(10, embedding_dim=6, hidden_dim=8, use_position_embedding=positions)
    x = np.random.default_rng(5).normal(size=(2, 4, 3)).astype("float32")
    layer(x)
    _randomize(layer, seed=6)
    e = _dense(x.astype("float64"), layer.feature_projection, to_numpy)
    if positions:
        e = e + to_numpy(layer.position_embedding)[:4]
    want = _dense(_layer_norm(e, layer.layer_norm, to_numpy), layer.projection, to_numpy)
    np.testing.assert_allclose(to_numpy(layer(x)), want, rtol=1e-4, atol=1e-4)
    assert len(layer.weights) == (7 if positions else 6)


def test_initializers_are_arguments(to_numpy):
    block = EncoderBlock(IdentityMixing(), intermediate_dim=8, kernel_initializer="zeros")
    block(np.ones((1, 3, 4), "float32"))
    assert not to_numpy(block.intermediate.kernel).any()
    layer = Embeddings(20, 8, 2, embedding_dim=4, hidden_dim=4, kernel_initializer="ones")
    layer(np.zeros((1, 3), "int32"), np.zeros((1, 3), "int32"))
    assert (to_numpy(layer.token_embedding.embeddings) == 1).all()
    assert (to_numpy(layer.projection.kernel) == 1).all()


def test_token_ids_out_of_range_raise_on_the_host():
    layer = Embeddings(50, 8, 2, embedding_dim=4, hidden_dim=4)
    segments = np.zeros((1, 3), "int32")
    with pytest.raises(ValueError, match=r"`token_ids` holds 50, outside \[0, 50\)"):
        layer(np.array([[1, 50, 2]]), segments)
    with pytest.raises(ValueError, match=r"`token_ids` holds -1"):
        layer(np.array([[1, -1, 2]]), segments)
    with pytest.raises(ValueError, match=r"`segment_ids` holds 2, outside \[0, 2\)"):
        layer(np.array([[1, 2, 3]]), np.array([[0, 1, 2]]))
