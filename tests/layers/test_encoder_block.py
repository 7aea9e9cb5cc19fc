"""The encoder block and embeddings against NumPy on their own weights."""

import numpy as np
import pytest

from keras_fnet.layers import Embeddings, EncoderBlock, FourierMixing, IdentityMixing


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
