"""A family registered from outside the package reaches every process.

The family lives in a module of the tests (`tests/external_family_plugin.py`, a
user's own `@register_mixing` class and `register_family` call); no file of the
project names it. In this process the fixture imports it; fresh processes (a
`.keras` load in a new interpreter, the training command's `--help`, the speed
benchmark's worker) get it from `KERAS_FNET_PLUGINS`. The fixture removes the
family and its mixing afterwards, so the other tests never see them.
"""

import csv
import importlib
import os
import subprocess
import sys
from importlib import metadata

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import config as config_lib
from keras_fnet import keras_compat, plugins
from keras_fnet.layers import MIXINGS

PLUGIN = "tests.external_family_plugin"
NAME = "ext_mean"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(vocabulary_size=64, max_sequence_length=16, hidden_dim=32, intermediate_dim=64,
             num_heads=2, dropout=0.0)

# A fresh interpreter: load the saved classifier, predict the saved inputs.
_RELOAD = """
import sys
import keras
import numpy as np
import keras_fnet

model = keras.saving.load_model(sys.argv[1])
inputs = dict(np.load(sys.argv[2]))
np.save(sys.argv[3], keras.ops.convert_to_numpy(model.predict(inputs, verbose=0)))
print("families:", ",".join(keras_fnet.FAMILIES))
"""


@pytest.fixture(scope="module")
def plugin():
    """The plugin module, imported here (not at collection: other test modules
    parametrize over `FAMILIES`), and everything it registered removed after."""
    module = importlib.import_module(PLUGIN)
    yield module
    config_lib.unregister_family(NAME)
    del MIXINGS[NAME]
    sys.modules.pop(PLUGIN, None)
    assert NAME not in keras_fnet.FAMILIES and f"{NAME}_tiny" not in keras_fnet.PRESETS


def _fresh_env():
    """The environment of a fresh process that names the plugin."""
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, KERAS_FNET_PLUGINS=PLUGIN, PYTHONPATH=path,
                TF_CPP_MIN_LOG_LEVEL="3")


def _batch(batch=4, length=16, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[1, 10:] = 0
    return {
        "token_ids": rng.integers(1, 64, (batch, length)).astype("int32") * mask,
        "segment_ids": (np.arange(length) >= length // 2).astype("int32")[None].repeat(batch, 0),
        "padding_mask": mask,
    }


def _mean_mixing_reference(x, mask, scale):
    """NumPy: every position gets `scale` times the mean over the real tokens."""
    weights = mask.astype("float64")[..., None]
    mean = (x * weights).sum(axis=1, keepdims=True) / np.maximum(weights.sum(1, keepdims=True), 1)
    return np.broadcast_to(scale * mean, x.shape)


def test_mixing_layer_matches_numpy(plugin):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7, 5)).astype("float32")
    mask = np.ones((3, 7), "int32")
    mask[0, 4:] = 0
    mask[2, 1:] = 0
    layer = plugin.ExternalMeanMixing(scale=3)
    got = keras.ops.convert_to_numpy(layer(x, padding_mask=mask))
    np.testing.assert_allclose(got, _mean_mixing_reference(x, mask, 3), rtol=1e-5, atol=1e-6)
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(got, _mean_mixing_reference(x, np.ones_like(mask), 3), atol=1e-6)


def test_family_builds_trains_and_reloads_in_a_fresh_process(plugin, tmp_path):
    assert keras_fnet.FAMILIES[NAME] == dict(mixing=NAME, ext_mean_scale=plugin.SCALE)
    config = keras_fnet.get_config(f"{NAME}_tiny", **SMALL)
    assert config.mixing == NAME and config.ext_mean_scale == plugin.SCALE
    model = keras_fnet.build_classifier(config, num_classes=2, learning_rate=3e-3)
    # The family's option reaches every block's mixing layer, which the encoder really calls.
    encoder = keras_fnet.build_encoder(config)
    mixings = [layer for layer in keras_compat.sublayers(encoder)
               if isinstance(layer, plugin.ExternalMeanMixing)]
    assert len(mixings) == config.num_layers and {m.scale for m in mixings} == {plugin.SCALE}

    x, y = _batch(), np.array([0, 1, 0, 1])
    before = [w.copy() for w in model.get_weights()]
    losses = model.fit(x, y, epochs=3, batch_size=4, verbose=0).history["loss"]
    assert np.isfinite(losses).all()
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)]
    assert sum(changed) > len(changed) // 2, changed

    path, inputs, outputs = tmp_path / "ext.keras", tmp_path / "x.npz", tmp_path / "y.npy"
    model.save(path)
    np.savez(inputs, **x)
    expected = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    result = subprocess.run(
        [sys.executable, "-c", _RELOAD, str(path), str(inputs), str(outputs)],
        env=_fresh_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert NAME in result.stdout.split("families:")[1].strip().split(",")
    np.testing.assert_allclose(np.load(outputs), expected, rtol=1e-5, atol=1e-5)


def test_family_is_a_model_of_the_command_line_and_the_speed_benchmark(
        plugin, tmp_path, monkeypatch):
    result = subprocess.run([sys.executable, "-m", "training.train", "--help"], cwd=ROOT,
                            env=_fresh_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    families = result.stdout.split("; families ")[1].split(", sizes")[0]
    assert NAME in families.replace("\n", " ").replace(",", " ").split()

    from benchmarks import speed

    # The runner is this process; its worker is a fresh one with this environment.
    monkeypatch.setenv("KERAS_FNET_PLUGINS", PLUGIN)
    backend = keras.backend.backend()
    speed.main(["--quick", "--suite", "small", "--backends", backend, "--models", NAME,
                "--threads", "1", "--out", str(tmp_path)])
    with open(tmp_path / "speed.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["model"], r["mode"], r["status"]) for r in rows} == {
        (NAME, "train", "ok"), (NAME, "infer", "ok")}
    assert all(float(r["median_ms"]) > 0 for r in rows)


def test_a_plugin_that_fails_names_the_module_and_where_it_was_named(monkeypatch):
    monkeypatch.setenv(plugins.ENVIRONMENT_VARIABLE, " json ,tests.no_such_plugin,json")
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [
        metadata.EntryPoint(name="broken", value="tests.no_such_entry:setup", group=group)])
    assert plugins.plugin_modules() == [
        ("json", "the environment variable KERAS_FNET_PLUGINS"),
        ("tests.no_such_plugin", "the environment variable KERAS_FNET_PLUGINS"),
        ("tests.no_such_entry", "the entry point 'broken' of the group 'keras_fnet.families'"),
    ]
    with pytest.raises(ImportError, match=r"plugin module 'tests.no_such_plugin', named in the "
                                          r"environment variable KERAS_FNET_PLUGINS: "
                                          r"ModuleNotFoundError"):
        plugins.load_plugins()
    monkeypatch.setenv(plugins.ENVIRONMENT_VARIABLE, "json")
    with pytest.raises(ImportError, match=r"'tests.no_such_entry', named in the entry point "
                                          r"'broken' of the group 'keras_fnet.families'"):
        plugins.load_plugins()
    # Named twice (the variable and an entry point), a module is imported once.
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [
        metadata.EntryPoint(name="ok", value="json:loads", group=group)])
    assert plugins.load_plugins() == ["json"]
