"""Shared test helpers. Every test runs under whichever KERAS_BACKEND is set."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


def _to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _gradient(fn, x):
    """d sum(fn(x)) / dx with the active backend's own autodiff."""
    if BACKEND == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: fn(v).sum())(x))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        v = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(v)
            total = tf.reduce_sum(fn(v))
        return tape.gradient(total, v).numpy()
    if BACKEND == "torch":
        import torch

        v = torch.tensor(x, requires_grad=True)
        fn(v).sum().backward()
        return v.grad.numpy()
    raise NotImplementedError(BACKEND)


@pytest.fixture(autouse=True)
def _reset_state():
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def to_numpy():
    """Convert a backend tensor to a numpy array."""
    return _to_numpy


@pytest.fixture
def gradient():
    """`gradient(fn, x)`: d sum(fn(x)) / dx by the backend's autodiff."""
    return _gradient


# Tests of backend-independent logic (run directories, cache files, the benchmark runners'
# bookkeeping) that need slow subprocesses or training runs: they run in one leg of CI only.
ONCE_BACKEND = "torch"
runs_once = pytest.mark.skipif(
    BACKEND != ONCE_BACKEND,
    reason=f"backend-independent and slow: runs once, in the {ONCE_BACKEND} leg of CI",
)

# Not collected: the fixtures' writer scripts (they run against an old checkout), and the
# external-family test's plugin module (importing it registers a family, and
# `--doctest-modules` would import it into every worker).
collect_ignore_glob = ["fixtures/*", "external_family_plugin.py"]
