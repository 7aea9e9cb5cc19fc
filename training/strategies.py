"""Devices and distribution strategies, one set per Keras backend.

| backend    | strategies                                             |
|------------|--------------------------------------------------------|
| tensorflow | `tpu`, `mirrored`, `multi_worker`, `default`           |
| jax        | `data_parallel` (+ multi-host), `default`              |
| torch      | `default` (one device: the first GPU, else the CPU)    |

`auto` picks, in order: TF: a TPU, a multi-worker `TF_CONFIG`, several local
GPUs (or `--num-cpu-devices` > 1), else one device; JAX: `data_parallel` when
there is more than one device (or more than one process), else one device.

Two steps, because devices must be set up before the frameworks start:

1. `configure_devices(backend, num_cpu_devices)` runs *before* `import keras`:
   it splits the CPU into N devices (TF logical devices; the JAX
   `XLA_FLAGS=--xla_force_host_platform_device_count=N`) and keeps TensorFlow
   (used by the input pipelines) off the GPUs on the other backends.
2. `get_strategy(name, ...)` returns a `Strategy`: `scope()` to build and
   compile the model in, `num_replicas`, `is_chief`, `shard_eval` etc.

Example:

>>> configure_devices("tensorflow", num_cpu_devices=2)  # doctest: +SKIP
>>> strategy = get_strategy("mirrored")  # doctest: +SKIP
>>> with strategy.scope():  # doctest: +SKIP
...     model = keras_fnet.build_classifier("fnet_tiny")
"""

import contextlib
import json
import os

STRATEGIES = {
    "tensorflow": ("tpu", "mirrored", "multi_worker", "default"),
    "jax": ("data_parallel", "default"),
    "torch": ("default",),
}
ALL_STRATEGIES = ("auto", "tpu", "mirrored", "multi_worker", "data_parallel", "default")

# Environment variables that ask for a multi-process JAX run
# (`keras.distribution.initialize` reads them).
_JAX_MULTI_PROCESS_ENV = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
)


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


class Strategy:
    """What the training script needs to know about its distribution.

    Attributes:
        name: the resolved strategy name (never "auto").
        backend: the Keras backend.
        num_replicas: devices that share each global batch.
        num_workers: processes (hosts) taking part.
        is_chief: whether this process writes outputs (checkpoints, logs).
        tf_strategy: the `tf.distribute.Strategy` (TF backend) or None.
        distribution: the `keras.distribution.Distribution` (JAX) or None.
        description: one line for logs and metrics.json.
    """

    def __init__(self, name, backend, num_replicas=1, num_workers=1, is_chief=True,
                 tf_strategy=None, distribution=None, description=""):
        self.name = name
        self.backend = backend
        self.num_replicas = num_replicas
        self.num_workers = num_workers
        self.is_chief = is_chief
        self.tf_strategy = tf_strategy
        self.distribution = distribution
        self.description = description or name

    def scope(self):
        """Context to build and compile (and restore) the model in."""
        if self.tf_strategy is not None:
            return self.tf_strategy.scope()
        return contextlib.nullcontext()

    def activate(self):
        """Make the strategy global where the backend needs it (JAX)."""
        if self.distribution is not None:
            import keras

            keras.distribution.set_distribution(self.distribution)

    def deactivate(self):
        """Undo `activate` (so a later model lives on one device)."""
        if self.distribution is not None:
            import keras

            keras.distribution.set_distribution(None)

    def shard_dataset(self, dataset):
        """Dataset options for the strategy (TF multi-worker shards by data)."""
        if self.name == "multi_worker":
            import tensorflow as tf

            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            return dataset.with_options(options)
        return dataset

    def __repr__(self):
        return f"Strategy({self.description})"


def get_strategy(name="auto", tpu=None, multi_host=False, backend=None):
    """Create the distribution strategy `name` for the active Keras backend.

    Args:
        name: one of `ALL_STRATEGIES`; must be valid for the backend.
        tpu: TPU name or address for `tpu` (default: `$TPU_NAME`, else
            "local", i.e. the TPU VM this runs on).
        multi_host: JAX: call `keras.distribution.initialize()` (which calls
            `jax.distributed.initialize`) even without the
            `KERAS_DISTRIBUTION_*` variables, e.g. on a TPU pod slice where
            JAX finds its peers itself.
        backend: defaults to `keras.backend.backend()`.

    Returns:
        A `Strategy`.

    Raises:
        StrategyError: a strategy that the backend cannot do, or no TPU.
    """
    import keras

    backend = backend or keras.backend.backend()
    check_strategy_name(backend, name)
    if backend == "tensorflow":
        return _tensorflow_strategy(name, tpu)
    if backend == "jax":
        return _jax_strategy(name, multi_host)
    return _torch_strategy()


def _tf_config_workers():
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "") or "{}")
    except ValueError as e:
        raise StrategyError(f"TF_CONFIG is not valid JSON: {e}") from None
    cluster = config.get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", [])), config


def _tpu_strategy(tpu):
    import tensorflow as tf

    tpu = tpu or os.environ.get("TPU_NAME") or "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as e:  # Each TF version raises a different type here.
        raise StrategyError(
            f"No TPU found (--tpu {tpu}): {type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]}\nRun on a Cloud TPU VM with "
            "--tpu local (the default), pass the TPU's name or grpc:// address "
            "with --tpu, or choose another --strategy (auto, mirrored, default)."
        ) from None
    strategy = tf.distribute.TPUStrategy(resolver)
    return Strategy(
        "tpu", "tensorflow", strategy.num_replicas_in_sync, tf_strategy=strategy,
        description=f"tpu ({strategy.num_replicas_in_sync} cores, {tpu})",
    )


def _tensorflow_strategy(name, tpu):
    import tensorflow as tf

    if name == "tpu":
        return _tpu_strategy(tpu)
    num_workers, tf_config = _tf_config_workers()
    if name == "auto":
        if num_workers > 1:  # First: MultiWorkerMirroredStrategy must precede any TF op.
            name = "multi_worker"
        else:
            try:
                return _tpu_strategy(tpu)
            except StrategyError:
                pass
            gpus = tf.config.list_logical_devices("GPU")
            cpus = tf.config.list_logical_devices("CPU")
            name = "mirrored" if len(gpus) > 1 or (not gpus and len(cpus) > 1) else "default"
    if name == "multi_worker":
        if num_workers < 1:
            raise StrategyError(
                "--strategy multi_worker needs TF_CONFIG describing the cluster, "
                'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
                '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\' on '
                "each worker (with its own index)."
            )
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _patch_keras_multi_worker_logs()
        task = tf_config.get("task", {})
        is_chief = task.get("type") == "chief" or (
            task.get("type", "worker") == "worker"
            and task.get("index", 0) == 0
            and "chief" not in tf_config.get("cluster", {})
        )
        return Strategy(
            "multi_worker", "tensorflow", strategy.num_replicas_in_sync,
            num_workers=num_workers, is_chief=is_chief, tf_strategy=strategy,
            description=f"multi_worker ({num_workers} workers, "
            f"{strategy.num_replicas_in_sync} replicas)",
        )
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        kind = "GPU" if gpus else "CPU"
        return Strategy(
            "mirrored", "tensorflow", strategy.num_replicas_in_sync, tf_strategy=strategy,
            description=f"mirrored ({len(devices)} {kind} devices)",
        )
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    return Strategy("default", "tensorflow", description=f"default (1 {device} device)")


def _patch_keras_multi_worker_logs():
    """Work around Keras 3's TF trainer under MultiWorkerMirroredStrategy.

    Keras reduces the per-replica logs of each step (scalar loss and metrics)
    with `strategy.reduce("MEAN", v, axis=0)`, which fails on 0-d tensors
    ("Invalid reduction dimension 0 for input with 0 dimensions"). Averaging
    over replicas (`axis=None`) is what is meant; only that case is changed.
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if getattr(tf_trainer.reduce_per_replica, "_keras_fnet_patched", False):
        return
    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(
            strategy
        ):
            import tensorflow as tf

            def mean(v):
                axis = 0 if getattr(v, "shape", None) is not None and v.shape.rank else None
                return strategy.reduce("MEAN", v, axis=axis)

            return tf.nest.map_structure(mean, values)
        return original(values, strategy, reduction)

    reduce_per_replica._keras_fnet_patched = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def _jax_strategy(name, multi_host):
    import keras

    if multi_host or any(os.environ.get(v) for v in _JAX_MULTI_PROCESS_ENV):
        # Must come before anything touches the JAX devices.
        keras.distribution.initialize()
    import jax

    devices = jax.devices()
    kind = devices[0].platform.upper()
    if name == "auto":
        name = "data_parallel" if len(devices) > 1 or jax.process_count() > 1 else "default"
    if name == "default":
        if jax.process_count() > 1:
            raise StrategyError(
                "--strategy default runs on one device, but this JAX run has "
                f"{jax.process_count()} processes; use --strategy data_parallel."
            )
        return Strategy("default", "jax", description=f"default (1 {kind} device)")
    distribution = keras.distribution.DataParallel(devices=devices)
    return Strategy(
        "data_parallel", "jax", len(devices), num_workers=jax.process_count(),
        is_chief=jax.process_index() == 0, distribution=distribution,
        description=f"data_parallel ({len(devices)} {kind} devices, "
        f"{jax.process_count()} process(es))",
    )


def _torch_strategy():
    import torch

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    return Strategy("default", "torch", description=f"default (1 device: {device})")
