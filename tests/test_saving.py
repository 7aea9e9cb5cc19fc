"""`.keras` round trips, on this backend and across the other two."""

import gc
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_fnet

SMALL = dict(vocabulary_size=64, max_sequence_length=16, hidden_dim=32,
             intermediate_dim=64, num_heads=2, num_random_features=16)
BACKENDS = ("tensorflow", "jax", "torch")


def _inputs(with_positions=False):
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(0, 64, (2, 12)).astype("int32"),
        "segment_ids": np.array([[0] * 6 + [1] * 6] * 2, "int32"),
        "padding_mask": np.array([[1] * 12, [1] * 9 + [0] * 3], "int32"),
    }
    if with_positions:
        x["mask_positions"] = np.array([[1, 5], [2, 3]], "int32")
    return x


def _outputs(model, x):
    out = model(x, training=False)
    flat = out if isinstance(out, dict) else {"output": out}
    return {k: np.asarray(keras.ops.convert_to_numpy(v), "float32") for k, v in flat.items()}


def _models():
    models = {f"{family}_encoder": keras_fnet.build_encoder(f"{family}_tiny", **SMALL)
              for family in sorted(keras_fnet.FAMILIES)}
    models["fnet_classifier"] = keras_fnet.build_classifier("fnet_tiny", num_classes=3, **SMALL)
    models["fnet_pretrainer"] = keras_fnet.build_pretrainer("fnet_tiny", **SMALL)
    return models


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every family saved once on this backend, with its outputs."""
    folder = tmp_path_factory.mktemp("saved")
    expected = {}
    for name, model in _models().items():
        x = _inputs(with_positions="pretrainer" in name)
        expected[name] = _outputs(model, x)
        model.save(folder / f"{name}.keras")
    return folder, expected


def test_round_trip_on_this_backend(saved):
    folder, expected = saved
    for name, want in expected.items():
        model = keras.saving.load_model(folder / f"{name}.keras")
        assert type(model).__name__ in ("Encoder", "Classifier", "Pretrainer")
        got = _outputs(model, _inputs(with_positions="pretrainer" in name))
        for key in want:
            np.testing.assert_allclose(got[key], want[key], atol=1e-6, err_msg=f"{name}/{key}")


def test_reloaded_random_matrices_and_features_are_identical(saved):
    folder, _ = saved
    for name in ("random_encoder", "performer_encoder"):
        before = keras.saving.load_model(folder / f"{name}.keras")
        after = keras.saving.load_model(folder / f"{name}.keras")
        for a, b in zip(before.non_trainable_weights, after.non_trainable_weights):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                          keras.ops.convert_to_numpy(b))
        assert before.non_trainable_weights  # the fixed matrices are weights


def test_reloaded_pretrainer_keeps_its_weights_tied(saved):
    folder, _ = saved
    model = keras.saving.load_model(folder / "fnet_pretrainer.keras")
    assert model.get_layer("mlm_head").token_embedding is model.encoder.token_embedding


_LOAD_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, keras, keras_fnet
    folder = sys.argv[1]
    expected = np.load(folder + "/expected.npz")
    inputs = np.load(folder + "/inputs.npz")
    worst = 0.0
    for key in expected.files:
        name, output = key.split("/")
        model = keras.saving.load_model(f"{folder}/{name}.keras")
        x = {k.split("/")[1]: inputs[k] for k in inputs.files if k.startswith(name + "/")}
        out = model(x, training=False)
        out = out if isinstance(out, dict) else {"output": out}
        got = np.asarray(keras.ops.convert_to_numpy(out[output]), "float32")
        diff = float(np.abs(got - expected[key]).max())
        worst = max(worst, diff)
        print(key, diff)
    print("WORST", worst)
    """
)


def test_loads_on_the_next_backend(saved):
    """Saved here, loaded under the next backend of the cycle TF -> JAX -> torch -> TF:
    over the three legs of CI every backend writes once and reads once."""
    target = BACKENDS[(BACKENDS.index(keras.backend.backend()) + 1) % len(BACKENDS)]
    folder, expected = saved
    np.savez(folder / "expected.npz",
             **{f"{n}/{k}": v for n, outs in expected.items() for k, v in outs.items()})
    np.savez(folder / "inputs.npz",
             **{f"{n}/{k}": v for n in expected
                for k, v in _inputs(with_positions="pretrainer" in n).items()})
    env = dict(os.environ, KERAS_BACKEND=target, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(folder)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    worst = float(result.stdout.strip().splitlines()[-1].split()[-1])
    assert worst <= 1e-4, result.stdout


# The contract of tests/contract.py on the three models.

def _feature_inputs(batch=2, length=6):
    rng = np.random.default_rng(1)
    return {"features": rng.normal(size=(batch, length, 5)).astype("float32"),
            "padding_mask": np.ones((batch, length), "int32")}


MODELS = {
    "encoder": (lambda dtype=None: keras_fnet.build_encoder("fnet_tiny", dtype=dtype, **SMALL),
                lambda batch=2, length=12: _inputs()),
    "feature_encoder": (
        lambda dtype=None: keras_fnet.build_encoder(
            "bert_tiny", dtype=dtype, input_kind="features", feature_dim=5, norm_first=True,
            **SMALL),
        _feature_inputs),
    "classifier": (lambda dtype=None: keras_fnet.build_classifier(
        "fnet_tiny", num_classes=3, dtype=dtype, compile=False, **SMALL),
        lambda batch=2, length=12: _inputs()),
    "pretrainer": (lambda dtype=None: keras_fnet.build_pretrainer(
        "fnet_tiny", dtype=dtype, compile=False, **SMALL),
        lambda batch=2, length=12: _inputs(with_positions=True)),
}
# Outputs that stay float32 under every policy (the task heads' logits).
FLOAT32_OUTPUTS = {"classifier": "float32", "pretrainer": "float32"}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_contract(name):
    from tests import contract

    make, inputs = MODELS[name]
    contract.run_model_saving_test(make(), inputs())
    # Every policy on the encoder; the task models add only their heads.
    policies = contract.POLICIES if name == "encoder" else ("mixed_bfloat16",)
    contract.run_precision_test(make, inputs, output_dtype=FLOAT32_OUTPUTS.get(name),
                                float32_weights=("logits",), policies=policies)


@pytest.fixture
def no_full_collections(monkeypatch):
    """Keras's `Layer.__delattr__` runs a full `gc.collect()` for every weight that
    quantization swaps out (in `quantize` and again when a quantized model
    loads): about half a second each in a test process that holds the suite's
    objects, most of these tests' time. Collecting garbage changes no result."""
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)


@pytest.mark.parametrize("name", ["encoder", "classifier", "pretrainer"])
def test_quantized_model_round_trip(name, no_full_collections):
    from tests import contract

    make, inputs = MODELS[name]
    modes = ("int8", "float8") if name == "encoder" else ("int8",)
    contract.run_quantization_test(make, inputs(), modes=modes)


_SAVE_BF16 = textwrap.dedent(
    """
    import sys, numpy as np, keras, keras_fnet
    folder = sys.argv[1]
    small = dict(vocabulary_size=64, max_sequence_length=16, hidden_dim=32,
                 intermediate_dim=64, num_heads=2)
    model = keras_fnet.build_classifier("fnet_tiny", num_classes=3, dtype="mixed_bfloat16",
                                        compile=False, **small)
    x = dict(np.load(folder + "/inputs.npz"))
    np.save(folder + "/logits.npy", np.asarray(keras.ops.convert_to_numpy(model(x)), "float32"))
    model.save(folder + "/bf16.keras")
    """
)
_LOAD_BF16 = textwrap.dedent(
    """
    import sys, numpy as np, keras, keras_fnet
    folder = sys.argv[1]
    model = keras.saving.load_model(folder + "/bf16.keras")
    x = dict(np.load(folder + "/inputs.npz"))
    got = np.asarray(keras.ops.convert_to_numpy(model(x)), "float32")
    policies = {model.dtype_policy.name, model.encoder.dtype_policy.name,
                model.encoder.get_layer("block_0").dtype_policy.name}
    print(sorted(policies), float(np.abs(got - np.load(folder + "/logits.npy")).max()))
    """
)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="runs once, in the JAX leg of CI")
def test_mixed_bfloat16_classifier_saved_under_jax_reloads_under_torch(tmp_path):
    np.savez(tmp_path / "inputs.npz", **_inputs())
    for backend, script in (("jax", _SAVE_BF16), ("torch", _LOAD_BF16)):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    policies, worst = result.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert policies == "['mixed_bfloat16']"
    # bfloat16 compute on two backends: within bfloat16's rounding.
    assert float(worst) < 2e-2, result.stdout
