"""The training schedule (warm-up + linear decay) and precision policy."""

import keras
import numpy as np
import pytest

from keras_fnet import compile_defaults
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


def test_float16_gets_loss_scaling():
    assert optim.set_precision("mixed_float16")
    assert not optim.set_precision("mixed_bfloat16")
    optimizer = compile_defaults.make_optimizer(1e-3, loss_scaling=True)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        optim.set_precision("float8")
