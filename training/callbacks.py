"""Callbacks of a training run: step counting, stopping, checkpoints, history, scalars.

Callbacks count steps themselves (`on_train_batch_end` receives the index of
the last step of the execution) so that they do not touch the model on every
step: with JAX, reading `callback.model` copies the training state back into
the model's variables.
"""

import os
import sys

import keras

from training import checkpoints


def interval_mean(count, mean, last_count, last_mean):
    """The mean over steps `last_count+1..count` from Keras' running means since the epoch
    began (`mean` over `count` steps, `last_mean` over `last_count`)."""
    if not last_count:
        return mean
    return (count * mean - last_count * last_mean) / (count - last_count)


def _floats(logs):
    values = {}
    for name, value in logs.items():
        try:
            values[name] = float(keras.ops.convert_to_numpy(value))
        except (TypeError, ValueError):
            continue
    return values


def fit_verbosity(verbose=None, stream=None):
    """`fit`'s `verbose` for a run: `verbose` when the user chose one; else Keras's
    progress bar (1) when `stream` (default: stdout) is a terminal, and one line
    per epoch (2) when it is a file or a pipe, where a bar writes a line per update.

    Example:

    >>> import io
    >>> fit_verbosity(None, io.StringIO()), fit_verbosity(1, io.StringIO())
    (2, 1)
    """
    if verbose is not None:
        return verbose
    stream = sys.stdout if stream is None else stream
    return 1 if getattr(stream, "isatty", lambda: False)() else 2


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
        self._last = (0, {})  # (steps into the epoch, running means) at the last call

    def interval_means(self, step, logs):
        """The mean of each metric over the steps since the previous call (or epoch start).

        Keras' step logs are running means since the epoch began.
        """
        count, means = step - self._epoch_start, _floats(logs)
        last_count, last_means = getattr(self, "_last", (0, {}))
        self._last = (count, means)
        return {name: interval_mean(count, mean, last_count, last_means.get(name, 0.0))
                for name, mean in means.items()}

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

    def on_step_end(self, step, logs):
        if step % self.every == 0:
            values = self.interval_means(step, logs)
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


class History(StepCounter):
    """Every step's training metrics and every validation pass, across resumes.

    Keras' step logs are running means since the epoch began; each entry is
    the mean over the steps of one execution (one step unless
    `steps_per_execution` > 1). `values` is JSON-ready: `step` and one list
    per metric, `val_step` and one list per validation metric.

    Args:
        values: the history restored from the checkpoint (or None).
        initial_step: the step the run starts from.
    """

    def __init__(self, values=None, initial_step=0):
        super().__init__(initial_step)
        self.values = {k: list(v) for k, v in (values or {}).items()}

    def on_step_end(self, step, logs):
        self.values.setdefault("step", []).append(step)
        for name, value in self.interval_means(step, logs).items():
            self.values.setdefault(name, []).append(value)

    def on_epoch_end(self, epoch, logs=None):
        val = {k: v for k, v in _floats(logs or {}).items() if k.startswith("val_")}
        if val:
            self.values.setdefault("val_step", []).append(self.step)
            for name, value in val.items():
                self.values.setdefault(name, []).append(value)


class Checkpointer(StepCounter):
    """Saves a checkpoint (with the run's history) every `every` steps and at the end.

    Args:
        run: the `RunDir`.
        every: steps between checkpoints; 0 saves only at the end.
        state: `state() -> dict` stored with the checkpoint (fingerprint, history).
        initial_step: the step the run starts from.
        is_chief: only the chief writes (the others skip the save).
    """

    def __init__(self, run, every, state, initial_step=0, is_chief=True):
        super().__init__(initial_step)
        self.run = run
        self.every = every
        self.state = state
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
        if self.is_chief:
            checkpoints.save(model, self.run, dict(self.state(), step=step))
