"""Distribution strategies: one `Strategy` object per backend.

`get_strategy(name, ...)` (after `training.devices.configure_devices`) returns
a `Strategy`: `scope()` to build and compile the model in, `num_replicas`,
`is_chief`, `activate()`/`deactivate()`, `shard_dataset()`. Each backend has
its own builder in `_BUILDERS`.

`auto` picks, in order: TF: a TPU, a multi-worker `TF_CONFIG`, several local
GPUs (or `--num-cpu-devices` > 1), else one device; JAX: `data_parallel` when
there is more than one device (or more than one process), else one device.

Example:

>>> strategy = get_strategy("mirrored")  # doctest: +SKIP
>>> with strategy.scope():  # doctest: +SKIP
...     model = keras_fnet.build_classifier("fnet_tiny")
"""

import contextlib
import json
import os

from training.devices import (  # noqa: F401  (re-exported for callers)
    ALL_STRATEGIES,
    STRATEGIES,
    StrategyError,
    check_strategy_name,
    configure_devices,
    current_backend,
)

# Environment variables that ask for a multi-process JAX run
# (`keras.distribution.initialize` reads them).
_JAX_MULTI_PROCESS_ENV = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
)


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
    return _BUILDERS[backend](name, tpu=tpu, multi_host=multi_host)


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


def _tensorflow_strategy(name, tpu=None, multi_host=False):
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
        from keras_fnet import keras_compat

        keras_compat.patch_multi_worker_logs()
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


def _jax_strategy(name, tpu=None, multi_host=False):
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


def _torch_strategy(name, tpu=None, multi_host=False):
    import torch

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    return Strategy("default", "torch", description=f"default (1 device: {device})")


_BUILDERS = {"tensorflow": _tensorflow_strategy, "jax": _jax_strategy, "torch": _torch_strategy}
