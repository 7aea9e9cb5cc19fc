"""Optimizer and schedule: the paper's AdamW and warm-up + linear decay."""

import keras
import numpy as np
import pytest

from training import optim


def test_schedule_warmup_then_linear_decay():
    schedule = optim.WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    values = [float(keras.ops.convert_to_numpy(schedule(s))) for s in (0, 5, 10, 60, 110, 200)]
    np.testing.assert_allclose(values, [0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)


def test_schedule_without_warmup_starts_at_peak():
    schedule = optim.WarmupLinearDecay(2.0, warmup_steps=0, total_steps=4)
    values = [float(keras.ops.convert_to_numpy(schedule(s))) for s in (0, 2, 4)]
    np.testing.assert_allclose(values, [2.0, 1.0, 0.0])


def test_schedule_serializes():
    schedule = optim.WarmupLinearDecay(1e-3, 10, 100)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, optim.WarmupLinearDecay)
    assert restored.get_config() == schedule.get_config()


def test_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="warmup_steps"):
        optim.WarmupLinearDecay(1e-3, 20, 10)


def test_adamw_settings_and_no_decay_on_bias_and_layernorm():
    optimizer = optim.make_optimizer(1e-3, clipnorm=1.0)
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.weight_decay == 0.01 and optimizer.epsilon == 1e-6
    assert optimizer.clipnorm == 1.0
    dense = keras.layers.Dense(3)
    norm = keras.layers.LayerNormalization()
    dense.build((None, 4))
    norm.build((None, 3))
    optimizer.build(dense.trainable_variables + norm.trainable_variables)
    decayed = {v.name: optimizer._use_weight_decay(v) for v in
               dense.trainable_variables + norm.trainable_variables}
    assert decayed == {"kernel": True, "bias": False, "gamma": False, "beta": False}


def test_float16_gets_loss_scaling():
    assert optim.set_precision("mixed_float16")
    assert not optim.set_precision("mixed_bfloat16")
    optimizer = optim.make_optimizer(1e-3, loss_scaling=True)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        optim.set_precision("float8")


def test_loss_of_each_task_kind_matches_numpy():
    from keras_fnet.data.tasks import KINDS

    assert set(optim.LOSSES) == set(KINDS)
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0]], "float32")
    labels = np.array([0, 1], "int32")
    loss, metrics, weighted = optim.make_loss("classification")
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(2), labels].mean()
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)
    assert [m.name for m in metrics] == ["accuracy"] and weighted is None
    loss, metrics, _ = optim.make_loss("regression")
    y, pred = np.array([1.0, 2.0], "float32"), np.array([[1.5], [1.0]], "float32")
    np.testing.assert_allclose(float(loss(y[:, None], pred)), (0.25 + 1.0) / 2, rtol=1e-6)
    assert metrics == []
    loss, _, weighted = optim.make_loss("pretraining")
    assert set(loss) == {"mlm", "nsp"} and weighted is not None
    with pytest.raises(ValueError, match="Unknown task kind 'ranking'.*classification"):
        optim.make_loss("ranking")
