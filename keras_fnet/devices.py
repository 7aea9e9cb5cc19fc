"""The kind of device the active backend runs on: `device_kind()`.

The one place in the library core that asks the backend's framework what it
runs on; everything else in `keras_fnet` uses only `keras`, `keras.ops` and
numpy. It imports the active backend's framework lazily to name the device kind
that `FourierMixing(implementation="auto")` and the attention layer tune for.

Example:

>>> device_kind() in ("cpu", "gpu", "tpu")
True
"""

import functools

import keras


@functools.cache
def device_kind():
    """`"tpu"`, `"gpu"` or `"cpu"`: the default device of the active backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        platform = jax.devices()[0].platform
        return {"tpu": "tpu", "gpu": "gpu", "cuda": "gpu", "rocm": "gpu"}.get(platform, "cpu")
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("TPU"):
            return "tpu"
        return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    if backend == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    return "cpu"
