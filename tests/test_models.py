"""Builders: every family builds at tiny size and trains with fit."""

import keras
import numpy as np
import pytest

import keras_fnet

SMALL = dict(vocabulary_size=64, max_sequence_length=16, hidden_dim=32,
             intermediate_dim=64, num_heads=2, num_random_features=16, dropout=0.0)


def _batch(batch=8, length=16, seed=0, padded_from=None):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    if padded_from is not None:
        mask[:, padded_from:] = 0
    return {
        "token_ids": rng.integers(1, 64, (batch, length)).astype("int32") * mask,
        "segment_ids": (np.arange(length) >= length // 2).astype("int32")[None].repeat(batch, 0),
        "padding_mask": mask,
    }


@pytest.mark.parametrize("family", sorted(keras_fnet.FAMILIES))
def test_every_family_trains_with_fit(family):
    model = keras_fnet.build_classifier(f"{family}_tiny", num_classes=3, learning_rate=3e-3,
                                        **SMALL)
    x = _batch()
    y = np.arange(8) % 3
    # One batch per epoch, no dropout: the loss of epoch k is that of the
    # weights after k - 1 updates, so the history itself shows the learning.
    losses = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0], (family, losses)


def test_encoder_outputs():
    encoder = keras_fnet.build_encoder("fnet_tiny", **SMALL)
    out = encoder(_batch(batch=2, length=11))
    assert tuple(out["sequence_output"].shape) == (2, 11, 32)
    assert tuple(out["pooled_output"].shape) == (2, 32)
    pooled = keras.ops.convert_to_numpy(out["pooled_output"])
    assert np.abs(pooled).max() <= 1.0  # tanh pooler


def _sequence_output(encoder, x):
    return keras.ops.convert_to_numpy(encoder(x)["sequence_output"])


def test_fnet_ignores_the_padding_mask_and_bert_honours_it():
    x = _batch(batch=2, length=12, padded_from=7)
    unmasked = dict(x, padding_mask=np.ones_like(x["padding_mask"]))
    fnet = keras_fnet.build_encoder("fnet_tiny", **SMALL)
    np.testing.assert_array_equal(_sequence_output(fnet, x), _sequence_output(fnet, unmasked))

    bert = keras_fnet.build_encoder("bert_tiny", **SMALL)
    changed = dict(x, token_ids=np.where(x["padding_mask"] > 0, x["token_ids"], 5))
    real = x["padding_mask"].astype(bool)
    np.testing.assert_allclose(
        _sequence_output(bert, x)[real], _sequence_output(bert, changed)[real], atol=1e-5
    )
    assert not np.allclose(_sequence_output(bert, x), _sequence_output(bert, unmasked), atol=1e-5)


def test_hybrid_has_attention_on_top():
    encoder = keras_fnet.build_encoder("fnet_hybrid_mini", **SMALL)
    kinds = [type(encoder.get_layer(f"block_{i}").mixing).__name__ for i in range(4)]
    assert kinds == ["FourierMixing", "FourierMixing", "AttentionMixing", "AttentionMixing"]


def test_regression_head_for_stsb():
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=1, **SMALL)
    x = _batch()
    y = np.linspace(0, 5, 8).astype("float32")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert model.output_shape == (None, 1) and np.isfinite(history.history["loss"]).all()


def test_pretrainer_ties_mlm_weights_and_fits():
    model = keras_fnet.build_pretrainer(
        "fnet_tiny", learning_rate=3e-3, **dict(SMALL, vocabulary_size=97))
    head = model.get_layer("mlm_head")
    assert head.token_embedding is model.encoder.token_embedding
    table_shape = (97, 32)
    assert sum(tuple(w.shape) == table_shape for w in model.trainable_weights) == 1
    x = _batch()
    x["mask_positions"] = np.tile(np.array([1, 4, 9], "int32"), (8, 1))
    y = {"mlm": x["token_ids"][:, [1, 4, 9]], "nsp": np.arange(8) % 2}
    weights = {"mlm": np.array([[1, 1, 0]] * 8, "float32"), "nsp": np.ones(8, "float32")}
    out = model(x)
    assert tuple(out["mlm"].shape) == (8, 3, 97) and tuple(out["nsp"].shape) == (8, 2)
    losses = model.fit(x, y, sample_weight=weights, epochs=6, verbose=0).history["loss"]
    assert losses[-1] < losses[0], losses


def test_mixed_bfloat16_encoder_trains():
    model = keras_fnet.build_classifier("fnet_hybrid_tiny", num_classes=2, dtype="mixed_bfloat16",
                                        **SMALL)
    history = model.fit(_batch(), np.arange(8) % 2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    y = model.encoder(_batch(batch=2))["sequence_output"]
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"


def test_fine_tune_from_an_encoder_shares_its_weights():
    encoder = keras_fnet.build_encoder("fnet_tiny", **SMALL)
    model = keras_fnet.build_classifier(encoder, num_classes=2)
    assert model.encoder is encoder
    with pytest.raises(ValueError, match="Overrides apply to a preset or config"):
        keras_fnet.build_classifier(encoder, num_classes=2, num_layers=1)


class TestBadInput:
    encoder = None

    @pytest.fixture(autouse=True)
    def _encoder(self):
        self.encoder = keras_fnet.build_encoder("bert_tiny", **SMALL)

    def test_too_long(self):
        with pytest.raises(ValueError, match="length 20 is longer than max_sequence_length=16"):
            self.encoder(_batch(length=20))

    def test_wrong_rank(self):
        x = _batch()
        x["token_ids"] = x["token_ids"][..., None]
        with pytest.raises(ValueError, match=r"`token_ids` must have shape \[batch, sequence\]"):
            self.encoder(x)

    def test_float_token_ids(self):
        x = _batch()
        x["token_ids"] = x["token_ids"].astype("float32") + 0.5
        with pytest.raises(TypeError, match="`token_ids` must hold integers, got dtype float32"):
            self.encoder(x)

    def test_missing_input(self):
        x = _batch()
        del x["segment_ids"]
        with pytest.raises(ValueError, match=r"Missing input\(s\) \['segment_ids'\]"):
            self.encoder(x)

    def test_float_token_ids_in_fit(self):
        model = keras_fnet.build_classifier("fnet_tiny", **SMALL)
        x = _batch()
        x["token_ids"] = x["token_ids"].astype("float32")
        # Keras wraps the error while building for fit; the message stays.
        with pytest.raises((TypeError, RuntimeError), match="must hold integers"):
            model.fit(x, np.zeros(8), verbose=0)

    def test_bad_num_classes(self):
        with pytest.raises(ValueError, match="`num_classes` must be a positive integer"):
            keras_fnet.build_classifier("fnet_tiny", num_classes=0)


def test_mlm_loss_averages_over_real_predictions_only():
    """The official normalization: sum(w * ce) / sum(w), not / number of slots."""
    loss, _, _ = keras_fnet.pretraining_losses()
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5)).astype("float32")
    labels = np.array([[1, 4, 0], [2, 2, 3]])
    weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    want = (ce * weights).sum() / weights.sum()
    got = float(keras.ops.convert_to_numpy(loss["mlm"](labels, logits, sample_weight=weights)))
    np.testing.assert_allclose(got, want, rtol=1e-5)


# Numerics that cannot silently go wrong.

@pytest.mark.parametrize("bad,message", [
    ({"token_ids": 64}, r"`token_ids` holds 64, outside \[0, 64\)"),
    ({"token_ids": -1}, r"`token_ids` holds -1"),
    ({"segment_ids": 4}, r"`segment_ids` holds 4, outside \[0, 4\)"),
])
def test_ids_out_of_range_raise_before_any_compiled_step(bad, message):
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=2, **SMALL)
    x = _batch()
    for name, value in bad.items():
        x[name][0, 3] = value
    y = np.zeros(8, "int32")
    for call in (lambda: model(x), lambda: model.predict(x, verbose=0),
                 lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0)):
        with pytest.raises(ValueError, match=message):
            call()


def test_performer_stays_finite_with_an_all_padding_row():
    model = keras_fnet.build_classifier("performer_tiny", num_classes=2, **SMALL)
    x = _batch(batch=4)
    x["padding_mask"][1] = 0
    x["token_ids"][1] = 0
    logits = keras.ops.convert_to_numpy(model(x))
    assert np.isfinite(logits).all()
    history = model.fit(x, np.array([0, 1, 0, 1]), sample_weight=np.array([1.0, 0.0, 1.0, 1.0]),
                        epochs=2, batch_size=4, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    for weight in model.weights:
        assert np.isfinite(keras.ops.convert_to_numpy(weight)).all(), weight.path


@pytest.mark.parametrize("family", ["fnet", "bert", "performer", "linear"])
def test_empty_batch_gives_empty_outputs(family):
    encoder = keras_fnet.build_encoder(f"{family}_tiny", **SMALL)
    out = encoder(_batch(batch=0, length=5))
    assert tuple(out["sequence_output"].shape) == (0, 5, 32)
    assert tuple(out["pooled_output"].shape) == (0, 32)


def test_sequence_length_zero_is_a_clear_error():
    encoder = keras_fnet.build_encoder("fnet_tiny", **SMALL)
    with pytest.raises(ValueError, match="sequence length 0"):
        encoder(_batch(batch=2, length=0))


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _normalize(x):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)


@pytest.mark.parametrize("size", ["base", "large"])
def test_fourier_block_under_mixed_float16_is_finite_at_full_size(size):
    """Unit-variance inputs of mean sqrt(3) (uniform): the transform's DC term
    (~1e6 at 512 x 1024) is far beyond float16's 65504; the block stays finite
    and matches NumPy because the transform reaches the LayerNorm in float32."""
    fields = keras_fnet.SIZES[size]
    hidden, intermediate = fields["hidden_dim"], fields["intermediate_dim"]
    block = keras_fnet.layers.EncoderBlock(
        keras_fnet.layers.FourierMixing(dtype="mixed_float16"), intermediate_dim=intermediate,
        dtype="mixed_float16")
    x = (np.random.default_rng(0).random((1, 512, hidden)) * np.sqrt(12)).astype("float16")
    y = keras.ops.convert_to_numpy(keras.ops.cast(block(x), "float32"))
    assert np.isfinite(y).all()
    # NumPy reference (LayerNorms at their initial gamma=1, beta=0).
    xd = x.astype("float64")
    assert np.abs(np.fft.fft2(xd).real).max() > 65504  # float16 would overflow here
    h = _normalize(xd + np.fft.fft2(xd).real)
    w1, b1 = (keras.ops.convert_to_numpy(w) for w in block.intermediate.weights)
    w2, b2 = (keras.ops.convert_to_numpy(w) for w in block.output_dense.weights)
    want = _normalize(h + _gelu_tanh(h @ w1 + b1) @ w2 + b2)
    np.testing.assert_allclose(y, want, atol=0.1)
