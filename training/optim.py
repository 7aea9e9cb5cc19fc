"""The learning-rate schedule and precision policy of a training run.

FNet (like BERT) trains with a learning rate that rises linearly from 0 over a
warm-up, then decays linearly to 0 at the last step (`WarmupLinearDecay`).
The optimizer and the losses are the library's own
(`keras_fnet.compile_defaults`: AdamW with weight decay 0.01, epsilon 1e-6, no
decay on biases and LayerNorm parameters), which `build_classifier` and
`build_pretrainer` compile with too.

Example:

>>> schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=100)
>>> [round(float(schedule(step)), 6) for step in (5, 10, 55, 100)]
[0.0005, 0.001, 0.0005, 0.0]
>>> set_precision("float32")
False
"""

import keras
from keras import ops

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@keras.saving.register_keras_serializable(package="keras_fnet_training")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak_learning_rate`, then linear decay to 0.

    Args:
        peak_learning_rate: learning rate at the end of the warm-up.
        warmup_steps: steps of the linear warm-up (0: start at the peak).
        total_steps: the step where the learning rate reaches 0; after it the
            learning rate stays 0.
    """

    def __init__(self, peak_learning_rate, warmup_steps, total_steps):
        if total_steps < 1:
            raise ValueError(f"`total_steps` must be >= 1, got {total_steps}.")
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"`warmup_steps` must be in [0, total_steps={total_steps}], "
                f"got {warmup_steps}."
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.convert_to_tensor(self.peak_learning_rate, "float32")
        warmup = ops.convert_to_tensor(float(max(self.warmup_steps, 1)), "float32")
        decay = float(max(self.total_steps - self.warmup_steps, 1))
        rising = peak * step / warmup
        falling = peak * ops.maximum(
            0.0, (float(self.total_steps) - step) / decay
        )
        if self.warmup_steps == 0:
            return falling
        return ops.where(step < float(self.warmup_steps), rising, falling)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }


def set_precision(policy):
    """Set the global dtype policy; returns whether loss scaling is needed.

    Args:
        policy: "float32", "mixed_bfloat16" or "mixed_float16".
    """
    if policy not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {policy!r}; choose from {', '.join(PRECISIONS)}."
        )
    keras.config.set_dtype_policy(policy)
    return policy == "mixed_float16"
