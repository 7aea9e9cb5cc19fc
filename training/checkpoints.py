"""Checkpoints that survive `kill -9`: weights, optimizer state and run state in one file.

A checkpoint is `<run dir>/checkpoint.weights.h5`, written by
`model.save_weights` (model weights *and* optimizer state, including the
optimizer's step counter) to a temporary name; the run's state (model
fingerprint, step, history) is added to that file's HDF5 attributes before it
is renamed over the old one, so weights, step and history can never
disagree, and a crash at any instant leaves the previous or the new
checkpoint, never half of one. `checkpoint.json` beside it is a copy of the
state for humans.
"""

import json
import os

import h5py
import keras

CHECKPOINT_NAME = "checkpoint.weights.h5"
CHECKPOINT_INFO = "checkpoint.json"
_STATE_ATTR = "keras_fnet_run_state"


class CheckpointError(Exception):
    """A checkpoint that cannot be resumed from (shown as one line)."""


def optimizer_step(model):
    """Optimizer steps applied so far (the inner step of a loss-scaled one)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def save(model, run, state):
    """Write the checkpoint of `model` with `state` (a JSON-ready dict) into `run`."""

    def write(tmp):
        model.save_weights(tmp)
        with h5py.File(tmp, "a") as f:
            f.attrs[_STATE_ATTR] = json.dumps(state)

    run.write_whole(CHECKPOINT_NAME, write)
    run.write_json(CHECKPOINT_INFO, {k: v for k, v in state.items() if k != "history"})


def read_state(path):
    """The run state stored in a checkpoint file; CheckpointError if damaged."""
    try:
        with h5py.File(path, "r") as f:
            return json.loads(f.attrs[_STATE_ATTR])
    except (OSError, KeyError, ValueError) as e:
        raise CheckpointError(
            f"{path} is damaged or was not written by this version of keras-fnet "
            f"({type(e).__name__}: {str(e)[:120]}); pass --overwrite to start afresh.") from None


def restore(model, run, fingerprint):
    """Load the latest checkpoint of `run` into a compiled `model`.

    Call inside the strategy scope, after `compile`.

    Args:
        model: the compiled model.
        run: the `RunDir`.
        fingerprint: the fingerprint of this run's model; the checkpoint must
            carry the same.

    Returns:
        `(step, state)`: the restored optimizer step and the stored state
        (`{}` and step 0 without a checkpoint).

    Raises:
        CheckpointError: damaged, or written for another model.
    """
    path = run.file(CHECKPOINT_NAME)
    try:
        state = read_state(path)
    except CheckpointError:
        if not os.path.exists(path):
            return 0, {}
        raise
    if state.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{path} was written for another model (fingerprint {state.get('fingerprint')}, "
            f"this model {fingerprint}); pass --overwrite to start afresh.")
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(path)
    except Exception as e:  # h5py and Keras raise many types for a damaged file.
        raise CheckpointError(
            f"{path} cannot be loaded ({type(e).__name__}: {str(e)[:200]}); pass --overwrite "
            "to start afresh.") from None
    step = optimizer_step(model)
    if step != state.get("step"):
        raise CheckpointError(f"{path}: its optimizer is at step {step} but its state says "
                              f"{state.get('step')}; pass --overwrite to start afresh.")
    return step, state
