"""Devices, set up before the frameworks start, and the strategy names of each backend.

| backend    | strategies                                             |
|------------|--------------------------------------------------------|
| tensorflow | `tpu`, `mirrored`, `multi_worker`, `default`           |
| jax        | `data_parallel` (+ multi-host), `default`              |
| torch      | `default` (one device: the first GPU, else the CPU)    |

`configure_devices(backend, num_cpu_devices)` runs *before* `import keras`:
it splits the CPU into N devices (TF logical devices; the JAX
`XLA_FLAGS=--xla_force_host_platform_device_count=N`) and keeps TensorFlow
(used by the input pipelines) off the GPUs on the other backends.
`training.strategies.get_strategy` then makes the strategy.

Example:

>>> configure_devices("tensorflow", num_cpu_devices=2)  # doctest: +SKIP
"""

import json
import os

STRATEGIES = {
    "tensorflow": ("tpu", "mirrored", "multi_worker", "default"),
    "jax": ("data_parallel", "default"),
    "torch": ("default",),
}
ALL_STRATEGIES = ("auto", "tpu", "mirrored", "multi_worker", "data_parallel", "default")


class StrategyError(ValueError):
    """A strategy that this backend or machine cannot run."""


def current_backend():
    """The Keras backend that `import keras` will pick, without importing it.

    Same rule as Keras: `KERAS_BACKEND`, else `~/.keras/keras.json`, else
    TensorFlow.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config_dir = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    try:
        with open(os.path.join(config_dir, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def check_strategy_name(backend, name):
    """Raise a clear `StrategyError` if `backend` has no strategy `name`."""
    if name == "auto":
        return
    valid = STRATEGIES.get(backend)
    if valid is None:
        raise StrategyError(f"Unsupported Keras backend {backend!r}; use tensorflow, jax or torch.")
    if name in valid:
        return
    hint = {
        ("jax", "tpu"): " On a TPU VM, JAX uses its TPU devices directly: "
        "pass --strategy data_parallel (or auto).",
        ("jax", "mirrored"): " The JAX equivalent is --strategy data_parallel.",
        ("jax", "multi_worker"): " For several hosts, use --strategy data_parallel "
        "and set KERAS_DISTRIBUTION_JOB_ADDRESSES / KERAS_DISTRIBUTION_NUM_PROCESSES "
        "/ KERAS_DISTRIBUTION_PROCESS_ID (or --multi-host on a TPU pod).",
        ("tensorflow", "data_parallel"): " The TensorFlow equivalent is "
        "--strategy mirrored (one host) or multi_worker.",
    }.get((backend, name), "")
    if backend == "torch":
        hint = (
            " The PyTorch backend trains on one device here; use KERAS_BACKEND="
            "tensorflow (tpu, mirrored, multi_worker) or jax (data_parallel) "
            "to distribute."
        )
    raise StrategyError(
        f"--strategy {name} is not available with the {backend} backend. "
        f"Valid strategies for {backend}: {', '.join(('auto',) + valid)}.{hint}"
    )


def configure_devices(backend, num_cpu_devices=None):
    """Set up devices before the frameworks initialize. Call before `import keras`.

    Args:
        backend: "tensorflow", "jax" or "torch".
        num_cpu_devices: split the CPU into this many devices (TF logical
            devices, JAX host devices) so distributed code runs on one CPU.
            `None` leaves the devices alone.

    Raises:
        StrategyError: if the split is impossible (torch, or the runtime has
            already started with another device count).
    """
    import sys

    if num_cpu_devices is not None and num_cpu_devices < 1:
        raise StrategyError(f"--num-cpu-devices must be >= 1, got {num_cpu_devices}.")
    if backend == "torch" and num_cpu_devices not in (None, 1):
        raise StrategyError(
            "--num-cpu-devices is not supported with the torch backend, which "
            "trains on a single device here. Use KERAS_BACKEND=tensorflow or jax."
        )
    if backend == "jax" and num_cpu_devices:
        flag = f"--xla_force_host_platform_device_count={num_cpu_devices}"
        if "jax" in sys.modules:
            import jax

            have = len(jax.devices("cpu"))
            if have != num_cpu_devices:
                raise StrategyError(
                    f"--num-cpu-devices {num_cpu_devices}: JAX has already started "
                    f"with {have} CPU device(s) in this process; set "
                    f"XLA_FLAGS={flag} before Python imports jax (run the "
                    "script in a fresh process)."
                )
        else:
            flags = [
                f
                for f in os.environ.get("XLA_FLAGS", "").split()
                if not f.startswith("--xla_force_host_platform_device_count")
            ]
            os.environ["XLA_FLAGS"] = " ".join(flags + [flag])

    # TensorFlow is imported by the input pipelines on every backend.
    import tensorflow as tf

    if backend != "tensorflow":
        # Keep tf.data (and TF) off the accelerators that JAX/torch use.
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            pass  # Already initialized: nothing to do.
    if backend == "tensorflow" and num_cpu_devices:
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices
            )
        except RuntimeError:
            have = len(tf.config.list_logical_devices("CPU"))
            if have != num_cpu_devices:
                raise StrategyError(
                    f"--num-cpu-devices {num_cpu_devices}: the TensorFlow runtime "
                    f"has already started with {have} CPU device(s) in this "
                    "process; logical devices must be set before it starts "
                    "(run the script in a fresh process)."
                ) from None
