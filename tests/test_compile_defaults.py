"""The optimizer and losses the zoo compiles with: the paper's AdamW and each task kind's loss,
checked against NumPy."""

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import compile_defaults


def test_adamw_settings_and_no_decay_on_bias_and_layernorm():
    optimizer = compile_defaults.make_optimizer(1e-3, clipnorm=1.0)
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


def test_loss_of_each_task_kind_matches_numpy():
    from keras_fnet.data.tasks import KINDS

    assert set(compile_defaults.LOSSES) == set(KINDS)
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0]], "float32")
    labels = np.array([0, 1], "int32")
    loss, metrics, weighted = compile_defaults.make_loss("classification")
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(2), labels].mean()
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)
    assert [m.name for m in metrics] == ["accuracy"] and weighted is None
    loss, metrics, _ = compile_defaults.make_loss("regression")
    y, pred = np.array([1.0, 2.0], "float32"), np.array([[1.5], [1.0]], "float32")
    np.testing.assert_allclose(float(loss(y[:, None], pred)), (0.25 + 1.0) / 2, rtol=1e-6)
    assert metrics == []
    loss, _, weighted = compile_defaults.make_loss("pretraining")
    assert set(loss) == {"mlm", "nsp"} and weighted is not None
    with pytest.raises(ValueError, match="Unknown task kind 'ranking'.*classification"):
        compile_defaults.make_loss("ranking")


@pytest.mark.parametrize("num_classes, loss", [(3, "SparseCategoricalCrossentropy"),
                                               (1, "MeanSquaredError")])
def test_build_classifier_compiles_with_the_factory(num_classes, loss):
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=num_classes, learning_rate=3e-4)
    assert type(model.loss).__name__ == loss
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert (optimizer.weight_decay, optimizer.epsilon) == (0.01, 1e-6)
    np.testing.assert_allclose(float(optimizer.learning_rate), 3e-4, rtol=1e-6)
