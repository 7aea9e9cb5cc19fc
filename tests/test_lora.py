"""LoRA: adapters on every family, frozen elsewhere, saved merged, and they learn."""

import gc
import math
import pathlib
import re

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet.layers import LinearMixing

# The `*_tiny` presets at a vocabulary and length a small task would use.
TINY = dict(vocabulary_size=500, max_sequence_length=32)
# Mixing -> the layers of block 0 that get adapters under "all" (besides the
# feed-forward `intermediate` and `output`); the other mixings have none.
ADAPTED = {
    "attention": {"query", "key", "value", "output"},
    "performer": {"query", "key", "value", "output"},
    "linear": {"mixing_0"},
}
DOC = pathlib.Path(__file__).parents[1] / "docs" / "guides" / "lora.md"


@pytest.fixture(autouse=True)
def _free_models():
    yield
    keras.backend.clear_session()  # Models left alive slow the next test's training.
    gc.collect()


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), "float64")


def _count(weights):
    return sum(math.prod(w.shape) for w in weights)


def _inputs(batch=3, length=12, vocabulary=500, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "token_ids": rng.integers(0, vocabulary, (batch, length)).astype("int32"),
        "segment_ids": np.zeros((batch, length), "int32"),
        "padding_mask": np.array([[1] * length] * (batch - 1) + [[1] * 8 + [0] * (length - 8)],
                                 "int32"),
    }


def _perturb_adapters(model, seed=1):
    """Stand-in for training: give every adapter update a non-zero value."""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        if "lora" in weight.path:
            weight.assign(rng.normal(0, 0.05, weight.shape).astype("float32"))


@pytest.mark.parametrize("family", sorted(keras_fnet.FAMILIES))
def test_every_family_unchanged_then_fewer_than_half_trainable(family):
    model = keras_fnet.build_classifier(f"{family}_tiny", compile=False, **TINY)
    x = _inputs()
    before = _numpy(model(x))
    trainable = _count(model.trainable_weights)
    model.enable_lora(4)
    np.testing.assert_allclose(_numpy(model(x)), before, rtol=0, atol=1e-6)
    assert model.lora_rank == model.encoder.lora_rank == 4
    assert _count(model.trainable_weights) < trainable / 2, family
    # Trainable: the adapters, the adapted layers' biases, the head; nothing else.
    for weight in model.trainable_weights:
        assert "lora_" in weight.path or weight.path.endswith("/bias") or \
            weight.path.startswith("logits/"), weight.path
    frozen = [w.path for w in model.non_trainable_weights]
    assert any("embeddings" in p for p in frozen) and any("layer_norm" in p for p in frozen)
    assert "logits/kernel" in [w.path for w in model.trainable_weights]
    adapted = sorted({w.path.split("/")[-2] for w in model.trainable_weights
                      if w.path.startswith("block_0/") and "lora" in w.path})
    mixing = model.encoder.config.layer_mixing(0)
    assert adapted == sorted(ADAPTED.get(mixing, set()) | {"intermediate", "output"}), family


def test_pretrainer_keeps_its_heads_trainable_and_its_tied_embeddings_frozen():
    model = keras_fnet.build_pretrainer("fnet_tiny", compile=False, **TINY)
    model.enable_lora(4)
    trainable = [w.path for w in model.trainable_weights]
    assert {p.split("/")[0] for p in trainable} == {"block_0", "block_1", "mlm_head", "nsp_head"}
    embedding = model.encoder.token_embedding.embeddings
    assert not embedding.trainable and embedding.path not in trainable


def test_hybrid_adapts_its_attention_layers_only_where_they_are():
    encoder = keras_fnet.build_encoder("fnet_hybrid_tiny", **TINY)
    encoder.enable_lora(2, target="mixing")
    blocks = {w.path.split("/")[0] for w in encoder.trainable_weights}
    assert blocks == {"block_0", "block_1"}  # tiny: 2 layers, both attention (-2, -1)
    encoder = keras_fnet.build_encoder("fnet_hybrid_mini", **TINY)
    encoder.enable_lora(2, target="mixing")
    assert {w.path.split("/")[0] for w in encoder.trainable_weights} == {"block_2", "block_3"}


@pytest.mark.parametrize("target, layers", [
    ("mixing", {"query", "key", "value", "output"}),
    ("feedforward", {"intermediate", "output"}),
    (["feedforward", "mixing"], {"query", "key", "value", "output", "intermediate"}),
])
def test_target_chooses_the_groups(target, layers):
    encoder = keras_fnet.build_encoder("bert_tiny", **TINY)
    encoder.enable_lora(4, target=target)
    lora = [w.path for w in encoder.trainable_weights if "lora" in w.path]
    assert {p.split("/")[-2] for p in lora} == layers
    mixing_adapters = [p for p in lora if "/mixing_" in p]
    assert bool(mixing_adapters) == ("mixing" in target)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rank=0), "positive integer"),
    (dict(rank=2.0), "positive integer"),
    (dict(rank=4, target="attention"), "Unknown LoRA target"),
    (dict(rank=4, target=[]), "non-empty list"),
    (dict(rank=4, target=7), "non-empty list"),
])
def test_bad_arguments_are_named(kwargs, message):
    encoder = keras_fnet.build_encoder("bert_tiny", **TINY)
    with pytest.raises(ValueError, match=message):
        encoder.enable_lora(**kwargs)


def test_nothing_to_adapt_and_twice_are_clear_errors():
    encoder = keras_fnet.build_encoder("fnet_tiny", **TINY)
    with pytest.raises(ValueError, match="nothing to adapt.*'fourier'"):
        encoder.enable_lora(4, target="mixing")
    encoder.enable_lora(4, target="all")
    with pytest.raises(ValueError, match="already enabled"):
        encoder.enable_lora(4)


def test_linear_mixing_update_matches_numpy():
    layer = LinearMixing(max_sequence_length=8)
    x = np.random.default_rng(0).normal(size=(2, 6, 4)).astype("float32")
    layer(x)
    seq, hidden = _numpy(layer.seq_kernel), _numpy(layer.hidden_kernel)
    layer.enable_lora(2, lora_alpha=4)
    np.testing.assert_allclose(_numpy(layer(x)), seq[:6, :6] @ x @ hidden, atol=1e-6)
    rng = np.random.default_rng(1)
    parts = {}
    for weight in layer.trainable_weights:
        parts[weight.name] = rng.normal(size=weight.shape)
        weight.assign(parts[weight.name].astype("float32"))
    seq_lora = seq + 2 * parts["lora_seq_kernel_a"] @ parts["lora_seq_kernel_b"]
    hidden_lora = hidden + 2 * parts["lora_hidden_kernel_a"] @ parts["lora_hidden_kernel_b"]
    np.testing.assert_allclose(
        _numpy(layer(x)), seq_lora[:6, :6] @ x @ hidden_lora, rtol=1e-4, atol=1e-4)
    assert not layer.seq_kernel.trainable and not layer.hidden_kernel.trainable


@pytest.mark.parametrize("family", ["bert", "linear", "performer"])
def test_saved_merged_and_reloaded(tmp_path, family):
    model = keras_fnet.build_classifier(f"{family}_tiny", compile=False, **TINY)
    model.enable_lora(4)
    query = model.encoder.get_layer("block_0").mixing.query if family != "linear" else None
    base = None if query is None else _numpy(query.kernel)  # W, as B is still zero
    _perturb_adapters(model)
    x = _inputs()
    want = _numpy(model(x))
    model.save(tmp_path / "lora.keras")
    model.save_to_preset(tmp_path / "preset")
    for loaded in (keras.saving.load_model(tmp_path / "lora.keras"),
                   keras_fnet.from_preset(tmp_path / "preset")):
        assert loaded.lora_rank is None and not any("lora" in w.path for w in loaded.weights)
        np.testing.assert_allclose(_numpy(loaded(x)), want, rtol=1e-5, atol=1e-5)
    if query is not None:  # The file holds W + A @ B, computed here in NumPy.
        merged = base + np.einsum(
            "hgr,rd->hgd", _numpy(query.lora_kernel_a), _numpy(query.lora_kernel_b))
        reloaded = loaded.encoder.get_layer("block_0").mixing.query.kernel
        np.testing.assert_allclose(_numpy(reloaded), merged, rtol=1e-6, atol=1e-6)


def test_guide_fine_tuning_of_a_pretrained_encoder_learns_a_task(tmp_path, monkeypatch):
    """The guide's code blocks, run in order in one namespace: an encoder
    pretrained briefly on one task, LoRA-tuned on another. The base stays
    frozen, the adapters move, the loss falls, and held-out accuracy is well
    above chance (0.5)."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    namespace = {}
    exec(compile(blocks[0], f"{DOC}[0]", "exec"), namespace)
    frozen = {w.path: _numpy(w) for w in namespace["encoder"].weights}
    for index, block in enumerate(blocks[1:], 1):
        exec(compile(block, f"{DOC}[{index}]", "exec"), namespace)
    loss, accuracy = namespace["history"].history["loss"], namespace["accuracy"]
    assert loss[-1] < 0.7 * loss[0], loss
    assert accuracy > 0.8, (accuracy, loss)
    model, reloaded = namespace["model"], namespace["reloaded"]
    assert len(model.encoder.non_trainable_weights) > len(model.encoder.trainable_weights)
    for weight in model.encoder.non_trainable_weights:
        np.testing.assert_array_equal(_numpy(weight), frozen[weight.path], weight.path)
    for weight in model.encoder.trainable_weights:
        assert "lora" not in weight.path or np.abs(_numpy(weight)).max() > 0, weight.path
    x = namespace["toy_task"](8, namespace["high"], seed=4)[0]
    assert reloaded.lora_rank is None
    np.testing.assert_allclose(_numpy(reloaded.predict(x, verbose=0)),
                               _numpy(model.predict(x, verbose=0)), atol=1e-5)
