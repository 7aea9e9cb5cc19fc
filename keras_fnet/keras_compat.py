"""Every use of private Keras and keras-hub internals, in one place, behind a version guard.

No other module of keras-fnet (nor of `training` and `benchmarks`) touches
`keras.src`, `keras_hub.src` or a private attribute of a Keras object;
`tests/test_keras_compat.py` scans the source tree and fails on one.

Used by the library:

* `sublayers(layer, include_self=True)`: every layer nested in `layer`
  (Keras's `Layer._flatten_layers`; there is no public walk).
* `is_quantized(layer)`: whether `layer.quantize(...)` already made its
  quantized weights (Keras's `Layer._is_quantized`).
* `unlocked(layer)`: let a built layer add weights, as Keras's own
  `Dense.enable_lora` does (Keras locks a layer's state after `build`; no
  public API reopens it).
* `graph_only(kwargs)`: a keras-hub preprocessing layer that runs as
  TensorFlow ops in eager calls too (its private `_allow_python_workflow`).
* `preprocessing_function`: keras-hub's decorator for a preprocessing layer's
  `call` (tensors in and out under any backend, run as TensorFlow ops).

Two workarounds for Keras 3's TensorFlow trainer under `tf.distribute`, used
by `training`:

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
rely on (tests/test_keras_compat.py fails loudly on an upgrade that changes
them). `TESTED` lists the Keras versions they were checked on.

Example:

>>> import keras
>>> layer = keras.layers.Dense(2)
>>> layer.build((None, 3))
>>> is_quantized(layer), len(sublayers(layer))
(False, 1)
"""

import contextlib
import inspect

TESTED = ("3.15",)


class KerasCompatError(RuntimeError):
    """The installed Keras changed an internal that keras-fnet relies on."""


def _params(fn):
    return list(inspect.signature(fn).parameters)


def _library_requirements():
    """(description, check) of each private API the library uses."""
    import keras

    layer = keras.layers.Dense(1)
    layer.build((None, 2))

    def quantize_sets_flag():
        quantized = keras.layers.Dense(1)
        quantized.build((None, 2))
        quantized.quantize("int8")
        return quantized._is_quantized is True and not is_quantized(layer)

    return [
        ("keras.Layer._flatten_layers(include_self=True, recursive=True)",
         lambda: _params(keras.Layer._flatten_layers)[1:3] == ["include_self", "recursive"]),
        ("keras.Layer._is_quantized (True once `quantize` ran)", quantize_sets_flag),
        ("keras.Layer._tracker.lock() / unlock()",
         lambda: callable(layer._tracker.lock) and callable(layer._tracker.unlock)),
    ]


def _keras_hub_requirements():
    """(description, check) of each private keras-hub API (none when keras-hub is absent)."""
    try:
        import keras_hub
        from keras_hub.src.utils import tensor_utils
    except ImportError:
        return []
    tokenizer = keras_hub.tokenizers.SentencePieceTokenizer
    return [("keras_hub.src.utils.tensor_utils.preprocessing_function(fn)",
             lambda: callable(tensor_utils.preprocessing_function)),
            # keras_fnet.preprocessing.tokenizer overrides it (keras-hub >= 0.32).
            ("keras_hub.tokenizers.SentencePieceTokenizer._set_proto_tf(proto)",
             lambda: _params(tokenizer._set_proto_tf)[1:] == ["proto"])]


def _trainer_requirements():
    """(description, check) of each private API of the TensorFlow trainer that training uses."""
    from keras.src.backend.tensorflow import trainer as tf_trainer
    from keras.src.trainers.trainer import Trainer

    params = _params
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


# What each part of keras-fnet needs: the library's helpers, keras-hub's, the trainer's.
_GROUPS = {"library": _library_requirements, "keras_hub": _keras_hub_requirements,
           "trainer": _trainer_requirements}


def check(groups=tuple(_GROUPS)):
    """Raise `KerasCompatError` naming each private API that is missing or changed.

    Args:
        groups: which requirements to check: "library" (builds and quantizes a
            small layer, so not inside a distribution scope), "keras_hub",
            "trainer" (the `tf.distribute` workarounds); all by default.
    """
    import keras

    broken = []
    try:
        requirements = [r for group in groups for r in _GROUPS[group]()]
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
            f"Keras {keras.__version__} changed internals that keras_fnet/keras_compat.py relies "
            f"on (tested with {', '.join(TESTED)}): {'; '.join(broken)}.")


def version_tested():
    """Whether the installed Keras is one of `TESTED`."""
    import keras

    return keras.__version__.rsplit(".", 1)[0] in TESTED


def sublayers(layer, include_self=True):
    """Every layer nested in `layer` (and `layer` itself unless `include_self=False`).

    Args:
        layer: a `keras.Layer` or `keras.Model`.
        include_self: whether the list starts with `layer`.

    Returns:
        A list of layers, each once (in Keras's own walk order).
    """
    return list(layer._flatten_layers(include_self=include_self))


def is_quantized(layer):
    """Whether `layer` already holds quantized weights (`layer.quantize(...)` ran)."""
    return bool(getattr(layer, "_is_quantized", False))


@contextlib.contextmanager
def unlocked(layer):
    """Within the block, the built `layer` may add weights (Keras locks its state after `build`)."""
    layer._tracker.unlock()
    try:
        yield
    finally:
        layer._tracker.lock()


def graph_only(kwargs):
    """`kwargs` for a keras-hub preprocessing layer that always runs as TensorFlow ops
    (keras-hub's private `_allow_python_workflow=False`), eager calls included."""
    return dict(kwargs, _allow_python_workflow=False)


def preprocessing_function(fn):
    """keras-hub's decorator for a preprocessing layer's `call` (imports keras-hub)."""
    from keras_hub.src.utils.tensor_utils import preprocessing_function as decorate

    return decorate(fn)


def build_for_tf_distribute(model, data_batch):
    """Build `model`'s loss and metrics on `data_batch` and skip Keras' own build step.

    Call in the strategy scope after `compile`. `data_batch` is a structure of
    zero tensors with the dataset's shapes and dtypes.
    """
    check(("trainer",))
    model._symbolic_build(data_batch=data_batch)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def patch_multi_worker_logs():
    """Average scalar step logs over replicas with `axis=None` under multi-worker."""
    check(("trainer",))
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
