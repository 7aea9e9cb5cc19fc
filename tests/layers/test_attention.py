"""Attention and Performer mixing against NumPy references on their weights."""

import keras
import numpy as np
import pytest

from keras_fnet.layers import AttentionMixing, PerformerMixing


def _dense(layer, to_numpy):
    return to_numpy(layer.kernel), to_numpy(layer.bias)


def _project(x, dense, to_numpy):
    kernel, bias = _dense(dense, to_numpy)
    return np.einsum("bnh,hgd->bngd", x, kernel) + bias


def _softmax_attention(q, k, v, mask):
    scores = np.einsum("bqgd,bkgd->bgqk", q, k) / np.sqrt(q.shape[-1])
    scores = np.where(mask[:, None, None, :] > 0, scores, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bgqk,bkgd->bqgd", weights, v)


def _output(attended, dense, to_numpy):
    kernel, bias = _dense(dense, to_numpy)
    return np.einsum("bngd,gdh->bnh", attended, kernel) + bias


def _inputs(seed=0, shape=(2, 7, 12)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype("float32")
    mask = np.ones(shape[:2], "int32")
    mask[0, 4:] = 0
    mask[1, 6:] = 0
    return x, mask


@pytest.mark.parametrize("path", ["fused", "explicit", "dropout"])
def test_attention_matches_numpy_with_padding(path, to_numpy):
    """Every path: the fused kernel, the written-out probabilities, and the
    training step with dropout (a rate so small that nothing drops)."""
    x, mask = _inputs()
    if path == "dropout":
        layer = AttentionMixing(num_heads=3, dropout=1e-9, implementation="fused")
        y = to_numpy(layer(x, padding_mask=mask, training=True))
    else:
        layer = AttentionMixing(num_heads=3, implementation=path)
        y = to_numpy(layer(x, padding_mask=mask))
    q = _project(x, layer.query, to_numpy)
    k = _project(x, layer.key, to_numpy)
    v = _project(x, layer.value, to_numpy)
    want = _output(_softmax_attention(q, k, v, mask), layer.output_dense, to_numpy)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer_class", [AttentionMixing, PerformerMixing])
def test_padded_tokens_do_not_reach_real_ones(layer_class, to_numpy):
    x, mask = _inputs(1)
    layer = layer_class(num_heads=2)
    y = to_numpy(layer(x, padding_mask=mask))
    noisy = x.copy()
    noisy[mask == 0] = 100.0
    y_noisy = to_numpy(layer(noisy, padding_mask=mask))
    real = mask.astype(bool)
    np.testing.assert_allclose(y[real], y_noisy[real], rtol=1e-4, atol=1e-4)


def _favor_reference(x, mask, layer, to_numpy):
    """FAVOR+ written independently in NumPy (float64) from the layer's weights."""
    q = _project(x, layer.query, to_numpy)
    k = _project(x, layer.key, to_numpy)
    v = _project(x, layer.value, to_numpy)
    w = to_numpy(layer.features).astype("float64")
    m, d = w.shape

    def phi(z):  # Positive features; constants cancel between numerator and denominator.
        z = z * d**-0.25
        return np.exp(z @ w.T - 0.5 * (z**2).sum(-1, keepdims=True)) / np.sqrt(m)

    qf, kf = phi(q), phi(k) * mask[:, :, None, None]
    numerator = np.einsum("bngm,bkgm,bkgd->bngd", qf, kf, v)
    denominator = np.einsum("bngm,bkgm->bng", qf, kf)[..., None]
    return _output(numerator / denominator, layer.output_dense, to_numpy), (q, k, v)


def test_performer_is_favor_plus(to_numpy):
    x, mask = _inputs(2)
    layer = PerformerMixing(num_heads=2, num_random_features=64, seed=5)
    y = to_numpy(layer(x, padding_mask=mask))
    want, _ = _favor_reference(x.astype("float64"), mask, layer, to_numpy)
    np.testing.assert_allclose(y, want, rtol=1e-3, atol=1e-4)


def test_performer_approximates_softmax_attention(to_numpy):
    """With many features FAVOR+ is close to exact softmax attention."""
    x, mask = _inputs(3)
    x *= 0.3  # FAVOR+'s variance grows with |q||k|; keep logits moderate.
    layer = PerformerMixing(num_heads=2, num_random_features=2048, seed=0)
    y = to_numpy(layer(x, padding_mask=mask))
    _, (q, k, v) = _favor_reference(x.astype("float64"), mask, layer, to_numpy)
    exact = _output(_softmax_attention(q, k, v, mask), layer.output_dense, to_numpy)
    real = mask.astype(bool)
    err = np.abs(y[real] - exact[real]).max() / np.abs(exact[real]).max()
    assert err < 0.1, err


def test_performer_features_are_orthogonal_blocks_and_saved(to_numpy):
    layer = PerformerMixing(num_heads=2, num_random_features=8, seed=1)
    layer.build((None, 5, 8))
    w = to_numpy(layer.features)
    assert w.shape == (8, 4) and not layer.features.trainable
    block = w[:4] / np.linalg.norm(w[:4], axis=1, keepdims=True)
    np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-5)
    again = PerformerMixing(num_heads=2, num_random_features=8, seed=1)
    again.build((None, 5, 8))
    np.testing.assert_array_equal(to_numpy(again.features), w)


@pytest.mark.parametrize("layer_class", [AttentionMixing, PerformerMixing])
def test_heads_must_divide_hidden(layer_class):
    with pytest.raises(ValueError, match="hidden size 10 is not divisible by num_heads=3"):
        layer_class(num_heads=3)(np.zeros((1, 4, 10), "float32"))


@pytest.mark.parametrize("layer_class", [AttentionMixing, PerformerMixing])
def test_mixed_bfloat16_is_finite(layer_class, to_numpy):
    x, mask = _inputs(4)
    y = layer_class(num_heads=2, dtype="mixed_bfloat16")(x, padding_mask=mask)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert np.isfinite(to_numpy(keras.ops.cast(y, "float32"))).all()


def test_auto_implementation_follows_the_measured_table():
    from keras_fnet import backend_specific
    from keras_fnet.layers.mixing import attention

    device = (keras.backend.backend(), backend_specific.device_kind())
    limit = attention.AUTO_EXPLICIT_MAX_LENGTH.get(device, 0)
    layer = AttentionMixing(num_heads=2)
    for length in (1, 512, 4096, 8192):
        assert layer.resolved_implementation(length) == ("explicit" if length <= limit else "fused")
    fused = AttentionMixing(num_heads=2, implementation="fused")
    assert fused.resolved_implementation(8) == "fused"
    with pytest.raises(ValueError, match="`implementation` must be one of .* got 'flash'"):
        AttentionMixing(num_heads=2, implementation="flash")


def test_config_chooses_the_implementation_of_every_attention_layer():
    import keras_fnet

    encoder = keras_fnet.build_encoder(
        "fnet_hybrid_tiny", attention_implementation="explicit", vocabulary_size=32,
        max_sequence_length=8, hidden_dim=8, intermediate_dim=16, num_heads=2, num_layers=2)
    attention_layers = [layer.mixing for layer in encoder.layers
                        if isinstance(getattr(layer, "mixing", None), AttentionMixing)]
    assert attention_layers and all(m.implementation == "explicit" for m in attention_layers)
    again = AttentionMixing.from_config(attention_layers[0].get_config())
    assert again.implementation == "explicit"
