"""keras_fnet/keras_compat.py holds every private Keras / keras-hub use: its guard fails loudly when
Keras changes one, and a scan of the source tree fails on a private use anywhere else."""

import ast
import pathlib

import keras
import numpy as np
import pytest

from keras_fnet import keras_compat

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCANNED = ("keras_fnet", "training", "benchmarks")
COMPAT = "keras_fnet/keras_compat.py"
PRIVATE_MODULES = ("keras.src", "keras_hub.src")
# Private names that no live Keras object lists until a code path sets them (or only on one
# backend's trainer), and keras-hub's SentencePiece internals.
KNOWN_PRIVATE = {"_is_quantized", "_maybe_symbolic_build", "_symbolic_build", "_tracker",
                 "_flatten_layers", "_set_proto_tf", "_sentence_piece", "_sentence_piece_spm",
                 "_allow_python_workflow"}
# Files that still use a private API, each with why it is not yet in the compat module.
ALLOWED = {}


def _private_names():
    """Private attributes of live Keras objects, plus `KNOWN_PRIVATE`."""
    dense = keras.layers.Dense(1)
    dense.build((None, 2))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    names = set(KNOWN_PRIVATE)
    for obj in (dense, model, keras.optimizers.AdamW()):
        # Keras's own names only, not those of a backend base class (torch's `nn.Module`).
        owners = [vars(obj)] + [vars(c) for c in type(obj).__mro__
                                if c.__module__.startswith("keras")]
        names |= {n for owner in owners for n in owner
                  if n.startswith("_") and not n.startswith("__")}
    return names


def private_uses(source, names):
    """`(line, what)` of each private Keras / keras-hub use in Python `source`."""
    uses = []

    def private_module(name):
        return any(name == m or name.startswith(m + ".") for m in PRIVATE_MODULES)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            uses += [(node.lineno, a.name) for a in node.names if private_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and private_module(node.module or ""):
            uses.append((node.lineno, node.module))
        elif isinstance(node, ast.Attribute):
            if node.attr in names:
                uses.append((node.lineno, "." + node.attr))
            elif (node.attr == "src" and isinstance(node.value, ast.Name)
                  and node.value.id in ("keras", "keras_hub")):
                uses.append((node.lineno, f"{node.value.id}.src"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            uses.append((node.lineno, f"def {node.name}"))
        elif isinstance(node, ast.Constant) and node.value in names:
            uses.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.keyword) and node.arg in names:
            uses.append((node.lineno, f"{node.arg}="))
    return sorted(set(uses))


def _scan():
    names = _private_names()
    found = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            uses = private_uses(path.read_text(), names)
            if uses and relative != COMPAT:
                found[relative] = uses
    return found


def test_no_private_keras_use_outside_the_compat_module():
    found = _scan()
    stray = {path: uses for path, uses in found.items() if path not in ALLOWED}
    assert not stray, (
        "private Keras / keras-hub APIs used outside keras_fnet/keras_compat.py (add a function "
        f"there and call it): {stray}")
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, f"no private use left in {stale}: remove them from ALLOWED"


def test_the_scan_finds_each_kind_of_private_use():
    source = "\n".join([
        "from keras.src.trainers import trainer",
        "import keras_hub.src.utils",
        "x = keras.src.ops",
        "layers = model._flatten_layers()",
        "quantized = getattr(layer, '_is_quantized', False)",
        "class T:",
        "    def _set_proto_tf(self, proto): pass",
        "kwargs = dict(_allow_python_workflow=False)",
        "ok = model.layers, self._own_name, '_own_name'",
    ])
    found = [what for _, what in private_uses(source, _private_names())]
    assert found == ["keras.src.trainers", "keras_hub.src.utils", "keras.src", "._flatten_layers",
                     "'_is_quantized'", "def _set_proto_tf", "_allow_python_workflow="]


def test_sublayers_and_is_quantized():
    first, second = keras.layers.Dense(3), keras.layers.Dense(2)
    inner = keras.Sequential([first, second])
    outer = keras.Sequential([inner])
    outer.build((None, 4))

    def walk(**kwargs):  # Sequential's own InputLayers left out.
        layers = [layer for layer in keras_compat.sublayers(outer, **kwargs)
                  if not isinstance(layer, keras.layers.InputLayer)]
        return sorted(layer.name for layer in layers)

    assert walk(include_self=False) == sorted([inner.name, first.name, second.name])
    assert walk() == sorted([outer.name, inner.name, first.name, second.name])
    assert not keras_compat.is_quantized(first)
    first.quantize("int8")
    assert keras_compat.is_quantized(first) and not keras_compat.is_quantized(second)


def test_unlocked_lets_a_built_layer_add_a_weight():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError):
        layer.add_weight(shape=(2,), name="extra")
    with keras_compat.unlocked(layer):
        extra = layer.add_weight(shape=(2,), initializer="ones", name="extra")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(extra), np.ones(2))
    with pytest.raises(ValueError):
        layer.add_weight(shape=(2,), name="another")


def test_the_private_apis_we_use_are_unchanged():
    keras_compat.check()  # Raises, naming each one, if a Keras upgrade moved or changed them.


def test_keras_version_was_checked():
    assert keras_compat.version_tested(), (
        f"Keras {keras.__version__} is not in keras_compat.TESTED {keras_compat.TESTED}: run the "
        "distributed tests (tests/training/test_distributed.py) on it, then add it.")


def test_check_names_what_changed(monkeypatch):
    from keras.src.backend.tensorflow import trainer as tf_trainer

    monkeypatch.setattr(tf_trainer, "reduce_per_replica", lambda values, strategy: values)
    with pytest.raises(keras_compat.KerasCompatError, match="reduce_per_replica"):
        keras_compat.check()
