"""Optimizer, loss, learning-rate schedule and precision policy of the paper.

The one place where a training run's compile settings are made:
`make_optimizer` (AdamW), `make_loss(kind)` (the loss and metrics of a task
kind: classification, regression, pretraining), `WarmupLinearDecay`,
`set_precision`.

FNet (like BERT) trains with AdamW (weight decay 0.01, epsilon 1e-6, no decay
on biases and LayerNorm parameters) and a learning rate that rises linearly
from 0 over a warm-up, then decays linearly to 0 at the last step.

Example:

>>> schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=100)
>>> [round(float(schedule(step)), 6) for step in (5, 10, 55, 100)]
[0.0005, 0.001, 0.0005, 0.0]
>>> optimizer = make_optimizer(schedule, clipnorm=1.0)
>>> loss, metrics, weighted_metrics = make_loss("regression")
>>> type(loss).__name__, metrics
('MeanSquaredError', [])
"""

import keras
from keras import ops

# Parameter names that AdamW leaves out of weight decay: Dense/Embedding
# biases and the LayerNorm scale (gamma) and offset (beta), as in BERT/FNet.
NO_DECAY_NAMES = ("bias", "gamma", "beta")
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


def make_optimizer(learning_rate, weight_decay=0.01, epsilon=1e-6, clipnorm=None,
                   loss_scaling=False):
    """AdamW as in the paper, optionally clipped and loss-scaled.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        weight_decay: decoupled weight decay (0.01 in the paper).
        epsilon: Adam epsilon (1e-6 in the paper).
        clipnorm: clip each gradient to this norm (None: no clipping).
        loss_scaling: wrap in a dynamic `LossScaleOptimizer` (needed for
            `mixed_float16`; bfloat16 does not need it).

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        epsilon=epsilon,
        clipnorm=clipnorm,
    )
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _classification():
    return (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy")], None)


def _regression():
    return keras.losses.MeanSquaredError(), [], None


def _pretraining():
    import keras_fnet

    return keras_fnet.pretraining_losses()


# Task kind (`keras_fnet.data.tasks.KINDS`) -> `() -> (loss, metrics, weighted_metrics)`.
LOSSES = {"classification": _classification, "regression": _regression,
          "pretraining": _pretraining}


def make_loss(kind):
    """`(loss, metrics, weighted_metrics)` for `model.compile`, for a task kind.

    Args:
        kind: "classification" (cross-entropy from logits, accuracy),
            "regression" (mean squared error) or "pretraining" (MLM + NSP,
            `keras_fnet.pretraining_losses`).
    """
    if kind not in LOSSES:
        raise ValueError(f"Unknown task kind {kind!r}; choose from {', '.join(LOSSES)}.")
    return LOSSES[kind]()


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
