"""Checkpoints that survive `kill -9`, step-exact stopping and TensorBoard scalars.

A checkpoint is one file, `<output_dir>/checkpoint.weights.h5`, written by
`model.save_weights` (model weights *and* optimizer state, including the
optimizer's step counter) to a temporary name and renamed over the old one,
so a crash at any instant leaves either the previous or the new checkpoint,
never half of one. The step to resume from is the restored
`optimizer.iterations`, read from the same file, so step and weights cannot
disagree. `checkpoint.json` beside it records the step for humans.

Callbacks count steps themselves (`on_train_batch_end` receives the index of
the last step of the execution) so that they do not touch the model on every
step: with JAX, reading `callback.model` copies the training state back into
the model's variables.
"""

import json
import os
import signal
import time

import keras

CHECKPOINT_NAME = "checkpoint.weights.h5"
CHECKPOINT_INFO = "checkpoint.json"


def _replace(source, target):
    """Atomic rename; `tf.io.gfile` for remote paths such as gs://."""
    if "://" in target:
        import tensorflow as tf

        tf.io.gfile.rename(source, target, overwrite=True)
    else:
        os.replace(source, target)


def _exists(path):
    if "://" in path:
        import tensorflow as tf

        return tf.io.gfile.exists(path)
    return os.path.exists(path)


def optimizer_step(model):
    """Optimizer steps applied so far (the inner step of a loss-scaled one)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def restore(model, output_dir):
    """Load the latest checkpoint of `output_dir` into a compiled model.

    Call inside the strategy scope, after `compile`. Builds the optimizer's
    variables first so that its state can be restored.

    Returns:
        The step of the checkpoint, 0 if there is none.

    Raises:
        ValueError: the checkpoint belongs to a different model.
    """
    path = os.path.join(output_dir, CHECKPOINT_NAME)
    if not _exists(path):
        return 0
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(path)
    except Exception as e:
        raise ValueError(
            f"Cannot resume from {path}: it does not match this model "
            f"({type(e).__name__}: {str(e)[:300]}). It was written by a run with "
            "other settings; pass a new --output-dir (or delete the checkpoint "
            "to start again)."
        ) from None
    return optimizer_step(model)


class StepCounter(keras.callbacks.Callback):
    """Base class: tracks the global optimizer step without touching the model.

    Args:
        initial_step: the step the run starts (or resumes) from.
    """

    def __init__(self, initial_step=0):
        super().__init__()
        self.step = initial_step
        self._epoch_start = initial_step

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self.step

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the index (within the epoch) of the last step run.
        self.step = self._epoch_start + batch + 1
        self.on_step_end(self.step, logs or {})

    def on_step_end(self, step, logs):
        pass


class StopAtStep(StepCounter):
    """Stops `fit` exactly when the global step reaches `total_steps`."""

    def __init__(self, total_steps, initial_step=0):
        super().__init__(initial_step)
        self.total_steps = total_steps

    def on_step_end(self, step, logs):
        if step >= self.total_steps:
            self.model.stop_training = True


class Checkpointer(StepCounter):
    """Saves a checkpoint every `every` steps (and at the end of training).

    Args:
        output_dir: directory of the checkpoint.
        every: steps between checkpoints; 0 saves only at the end.
        initial_step: the step the run starts from.
        is_chief: only the chief writes (the others skip the save).
    """

    def __init__(self, output_dir, every, initial_step=0, is_chief=True):
        super().__init__(initial_step)
        self.output_dir = output_dir
        self.every = every
        self.is_chief = is_chief
        self.last_saved = initial_step

    def on_step_end(self, step, logs):
        if self.every and step // self.every > self.last_saved // self.every:
            self.save(step)

    def on_train_end(self, logs=None):
        if self.step > self.last_saved:
            self.save(self.step)

    def save(self, step):
        self.last_saved = step
        model = self.model  # With JAX, this syncs the training state.
        if not self.is_chief:
            return
        path = os.path.join(self.output_dir, CHECKPOINT_NAME)
        tmp = os.path.join(self.output_dir, f".tmp-{os.getpid()}-{CHECKPOINT_NAME}")
        model.save_weights(tmp)
        _replace(tmp, path)
        info_tmp = os.path.join(self.output_dir, f".tmp-{os.getpid()}-{CHECKPOINT_INFO}")
        with open(info_tmp, "w") as f:
            json.dump({"step": step, "time": time.time()}, f)
        _replace(info_tmp, os.path.join(self.output_dir, CHECKPOINT_INFO))


class CrashAtStep(StepCounter):
    """Testing aid: `kill -9` this very process after step `crash_step`."""

    def __init__(self, crash_step, initial_step=0):
        super().__init__(initial_step)
        self.crash_step = crash_step

    def on_step_end(self, step, logs):
        if step == self.crash_step:
            print(f"\n[--crash-at-step] sending SIGKILL to pid {os.getpid()} at step {step}",
                  flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


def _scalar_metadata():
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    return metadata


class ScalarLogger(StepCounter):
    """TensorBoard scalars (train every `every` steps, validation per epoch).

    A training scalar at step `s` is the mean over the steps since the
    previous point (not Keras' running mean since the epoch began, which
    jumps at every epoch boundary).

    Writes event files with TensorFlow's core `tf.summary.write`, so it works
    on every backend and needs no `tensorboard` package to write (only to
    view: `tensorboard --logdir <output_dir>/logs`).

    Args:
        log_dir: directory of the event files.
        every: steps between training scalars.
        initial_step: the step the run starts from.
        learning_rate: optional callable step -> learning rate, also logged.
    """

    def __init__(self, log_dir, every=50, initial_step=0, learning_rate=None):
        super().__init__(initial_step)
        import tensorflow as tf

        self._tf = tf
        self.every = max(1, every)
        self.learning_rate = learning_rate
        self._metadata = _scalar_metadata()
        self._writers = {
            name: tf.summary.create_file_writer(os.path.join(log_dir, name))
            for name in ("train", "validation")
        }

    def _write(self, split, values, step):
        tf = self._tf
        with tf.device("/cpu:0"), self._writers[split].as_default():
            for name, value in values.items():
                try:
                    value = float(keras.ops.convert_to_numpy(value))
                except (TypeError, ValueError):
                    continue
                tf.summary.write(name, tf.constant(value), step=step, metadata=self._metadata)
        self._writers[split].flush()

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._last = (0, {})  # (steps into the epoch, running means) at the last point

    def on_step_end(self, step, logs):
        if step % self.every == 0:
            # Keras' step logs are running means since the epoch began; the
            # scalar is the mean over the steps since the previous point.
            count, means = step - self._epoch_start, {}
            last_count, last_means = getattr(self, "_last", (0, {}))
            values = {}
            for name, value in logs.items():
                try:
                    means[name] = float(keras.ops.convert_to_numpy(value))
                except (TypeError, ValueError):
                    continue
                previous = last_means.get(name, 0.0) if last_count else 0.0
                values[name] = (count * means[name] - last_count * previous) / (count - last_count)
            self._last = (count, means)
            if self.learning_rate is not None:
                values["learning_rate"] = self.learning_rate(step)
            self._write("train", values, step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        val = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        if val:
            self._write("validation", val, self.step)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
