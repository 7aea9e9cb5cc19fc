"""The optimizer and the losses every model of the zoo compiles with.

`build_classifier` and `build_pretrainer` compile with them, and so does the
training command line (with its own learning-rate schedule and clipping):

* `make_optimizer(learning_rate, ...)`: AdamW as in the paper (weight decay
  0.01, epsilon 1e-6, no decay on biases and LayerNorm parameters), optionally
  clipped and loss-scaled.
* `make_loss(kind)`: `(loss, metrics, weighted_metrics)` of a task kind,
  from the table `LOSSES` (classification, regression, pretraining).
* `pretraining_losses()`: the MLM + NSP losses of the pretrainer.

Example:

>>> optimizer = make_optimizer(1e-3, clipnorm=1.0)
>>> type(optimizer).__name__, optimizer.weight_decay
('AdamW', 0.01)
>>> loss, metrics, weighted_metrics = make_loss("regression")
>>> type(loss).__name__, metrics
('MeanSquaredError', [])
"""

import keras

# Parameter names that AdamW leaves out of weight decay: Dense/Embedding
# biases and the LayerNorm scale (gamma) and offset (beta), as in BERT/FNet.
NO_DECAY_NAMES = ("bias", "gamma", "beta")


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


def pretraining_losses():
    """`(loss, metrics, weighted_metrics)` of the pretrainer, for `compile`.

    As the official code: the MLM cross-entropy is averaged over the real
    predictions only (`sample_weight={"mlm": mask_weights}` with 0 at padded
    prediction slots, so the loss divides by the sum of the weights, not by
    the number of slots), plus the NSP cross-entropy.

    Example:

    >>> loss, metrics, weighted = pretraining_losses()
    >>> sorted(loss)
    ['mlm', 'nsp']
    """
    accuracy = lambda: keras.metrics.SparseCategoricalAccuracy(name="accuracy")  # noqa: E731
    loss = {
        "mlm": keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    }
    return loss, {"nsp": [accuracy()]}, {"mlm": [accuracy()]}


def _classification():
    return (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy")], None)


def _regression():
    return keras.losses.MeanSquaredError(), [], None


# Task kind (`keras_fnet.data.tasks.KINDS`) -> `() -> (loss, metrics, weighted_metrics)`.
LOSSES = {"classification": _classification, "regression": _regression,
          "pretraining": pretraining_losses}


def make_loss(kind):
    """`(loss, metrics, weighted_metrics)` for `model.compile`, for a task kind.

    Args:
        kind: "classification" (cross-entropy from logits, accuracy),
            "regression" (mean squared error) or "pretraining" (MLM + NSP,
            `pretraining_losses`).

    Raises:
        ValueError: an unknown kind (the message lists the known ones).
    """
    if kind not in LOSSES:
        raise ValueError(f"Unknown task kind {kind!r}; choose from {', '.join(LOSSES)}.")
    return LOSSES[kind]()
