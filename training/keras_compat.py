"""Every use of private Keras internals in one place, behind a version guard.

Two workarounds for Keras 3's TensorFlow trainer under `tf.distribute`:

1. `build_for_tf_distribute(model, batch)`: `fit` builds the loss and metrics
   on a replica-averaged (float) batch, which the models reject as token ids,
   and Keras' own build step fails on dict inputs under
   MultiWorkerMirroredStrategy. We build them ourselves on an int batch
   (`Model._symbolic_build`) and turn Keras' step off
   (`Model._maybe_symbolic_build`).
2. `patch_multi_worker_logs()`: Keras reduces the scalar step logs with
   `strategy.reduce("MEAN", v, axis=0)` under MultiWorkerMirroredStrategy,
   which fails on 0-d tensors; `reduce_per_replica` is wrapped to use
   `axis=None` for scalars.

`check()` raises a clear error when the installed Keras lacks what these
rely on (tests/training/test_keras_compat.py fails loudly on an upgrade that
changes them). `TESTED` lists the Keras versions they were checked on.
"""

import inspect

TESTED = ("3.15",)


class KerasCompatError(RuntimeError):
    """The installed Keras changed an internal that keras-fnet relies on."""


def _requirements():
    """(description, check) of each private API, the check returning True when it holds."""
    from keras.src.backend.tensorflow import trainer as tf_trainer
    from keras.src.trainers.trainer import Trainer

    def params(fn):
        return list(inspect.signature(fn).parameters)

    return [
        ("keras.src.trainers.trainer.Trainer._symbolic_build(iterator=None, data_batch=None)",
         lambda: params(Trainer._symbolic_build)[1:] == ["iterator", "data_batch"]),
        ("TensorFlowTrainer._maybe_symbolic_build(iterator=None, data_batch=None)",
         lambda: params(tf_trainer.TensorFlowTrainer._maybe_symbolic_build)[1:]
         == ["iterator", "data_batch"]),
        ("keras.src.backend.tensorflow.trainer.reduce_per_replica(values, strategy, reduction)",
         lambda: params(tf_trainer.reduce_per_replica) == ["values", "strategy", "reduction"]),
        ("keras.src.backend.tensorflow.trainer._collective_all_reduce_multi_worker(strategy)",
         lambda: callable(tf_trainer._collective_all_reduce_multi_worker)),
    ]


def check():
    """Raise `KerasCompatError` naming each private API that is missing or changed."""
    import keras

    broken = []
    try:
        requirements = _requirements()
    except (ImportError, AttributeError) as e:
        raise KerasCompatError(f"Keras {keras.__version__}: {e}") from None
    for description, holds in requirements:
        try:
            ok = holds()
        except (AttributeError, ValueError, TypeError):
            ok = False
        if not ok:
            broken.append(description)
    if broken:
        raise KerasCompatError(
            f"Keras {keras.__version__} changed internals that training/keras_compat.py relies "
            f"on (tested with {', '.join(TESTED)}): {'; '.join(broken)}.")


def version_tested():
    import keras

    return keras.__version__.rsplit(".", 1)[0] in TESTED


def build_for_tf_distribute(model, data_batch):
    """Build `model`'s loss and metrics on `data_batch` and skip Keras' own build step.

    Call in the strategy scope after `compile`. `data_batch` is a structure of
    zero tensors with the dataset's shapes and dtypes.
    """
    check()
    model._symbolic_build(data_batch=data_batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def patch_multi_worker_logs():
    """Average scalar step logs over replicas with `axis=None` under multi-worker."""
    check()
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
