"""Official f_net Flax checkpoints -> keras_fnet.

The checkpoint is the official parameter tree (as google-research `f_net`
names it; transformers' `convert_fnet_original_flax_checkpoint_to_pytorch.py`
documents the same tree) filled from the random transformers reference model,
and written with Flax's own `flax.serialization.msgpack_serialize`, which is
what `flax.training.checkpoints.save_checkpoint` writes to the file.
"""

import copy
import os

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import convert
from keras_fnet.convert.__main__ import main
from keras_fnet.convert.common import ConversionError
from tests.convert.convert_reference import TOLERANCE, max_abs, to_numpy

serialization = pytest.importorskip("flax.serialization")
pytest.importorskip("torch")


def official_tree(torch_model):
    """The official FNet pretraining parameter tree of a transformers FNetForPreTraining."""
    s = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}

    def dense(prefix):
        return {"kernel": s[prefix + ".weight"].T.copy(), "bias": s[prefix + ".bias"]}

    def norm(prefix):
        return {"scale": s[prefix + ".weight"], "bias": s[prefix + ".bias"]}

    e = "fnet.embeddings."
    encoder = {
        "embedder": {
            "word": {"embedding": s[e + "word_embeddings.weight"]},
            "position": {"embedding": s[e + "position_embeddings.weight"][None]},
            "type": {"embedding": s[e + "token_type_embeddings.weight"]},
            "layer_norm": norm(e + "LayerNorm"),
            "hidden_mapping_in": dense(e + "projection"),
        },
        "pooler": dense("fnet.pooler.dense"),
    }
    for i in range(torch_model.config.num_hidden_layers):
        layer = f"fnet.encoder.layer.{i}."
        encoder[f"encoder_{i}"] = {
            "mixing_layer_norm": norm(layer + "fourier.output.LayerNorm"),
            "output_layer_norm": norm(layer + "output.LayerNorm"),
        }
        encoder[f"feed_forward_{i}"] = {
            "intermediate": dense(layer + "intermediate.dense"),
            "output": dense(layer + "output.dense"),
        }
    return {
        "encoder": encoder,
        "predictions_dense": dense("cls.predictions.transform.dense"),
        "predictions_layer_norm": norm("cls.predictions.transform.LayerNorm"),
        "predictions_output": {"output_bias": s["cls.predictions.bias"]},
        "classification": {
            "output_kernel": s["cls.seq_relationship.weight"],
            "output_bias": s["cls.seq_relationship.bias"],
        },
    }


def write_checkpoint(folder, params, step=1000):
    """A training-state file as the official code saves it: {target, state}."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {"target": params, "state": {"step": np.int64(step), "param_states": {}}}
    path = folder / f"checkpoint_{step}"
    path.write_bytes(serialization.msgpack_serialize(state))
    return str(path)


@pytest.fixture(scope="module")
def tree(hf_pretraining):
    return official_tree(hf_pretraining["model"])


def _pretrainer_outputs(model, inputs):
    batch, length = inputs["token_ids"].shape[:2]
    positions = np.tile(np.arange(length, dtype="int32"), (batch, 1))
    return to_numpy(model({**inputs, "mask_positions": positions}))


def test_pretraining_checkpoint_matches_reference(hf_pretraining, tree, tmp_path):
    folder = tmp_path / "ckpt"
    write_checkpoint(folder, tree, step=10)
    write_checkpoint(folder, tree, step=1000)
    model = convert.from_flax(str(folder))  # The latest step of a directory.
    assert isinstance(model, keras_fnet.Pretrainer)
    inputs = hf_pretraining["inputs"]
    ours = to_numpy(model.encoder(inputs))
    assert max_abs(ours["sequence_output"], hf_pretraining["last_hidden_state"]) <= TOLERANCE
    assert max_abs(ours["pooled_output"], hf_pretraining["pooler_output"]) <= TOLERANCE
    heads = _pretrainer_outputs(model, inputs)
    assert max_abs(heads["mlm"], hf_pretraining["prediction_logits"]) <= TOLERANCE
    assert max_abs(heads["nsp"], hf_pretraining["seq_relationship_logits"]) <= TOLERANCE


def test_command_line_with_flags_and_tokenizer(hf_pretraining, tree, spm_file, tmp_path):
    path = write_checkpoint(tmp_path / "ckpt", tree)
    out = str(tmp_path / "fnet.keras")
    assert main(["flax", path, out, "--spm", spm_file, "--dropout", "0.0", "--encoder-only"]) == 0
    assert (tmp_path / "fnet.spm.model").read_bytes() == open(spm_file, "rb").read()
    encoder = keras.saving.load_model(out)
    assert isinstance(encoder, keras_fnet.Encoder) and encoder.config.dropout == 0.0
    ours = to_numpy(encoder(hf_pretraining["inputs"]))
    assert max_abs(ours["sequence_output"], hf_pretraining["last_hidden_state"]) <= TOLERANCE


def test_chunked_arrays(hf_pretraining, tree, tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_CHUNK_SIZE", 512)  # Split every big array.
    path = write_checkpoint(tmp_path / "ckpt", tree)
    assert b"__msgpack_chunked_array__" in open(path, "rb").read()
    encoder = convert.from_flax(path, encoder_only=True)
    ours = to_numpy(encoder(hf_pretraining["inputs"]))
    assert max_abs(ours["sequence_output"], hf_pretraining["last_hidden_state"]) <= TOLERANCE


def test_classification_checkpoint(hf_pretraining, tree, tmp_path):
    params = {key: tree[key] for key in ("encoder",)}
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 30)).astype("float32")
    bias = rng.standard_normal(3).astype("float32")
    params["classification"] = {"output_kernel": kernel, "output_bias": bias}
    classifier = convert.from_flax(write_checkpoint(tmp_path / "ckpt", params))
    assert isinstance(classifier, keras_fnet.Classifier) and classifier.num_classes == 3
    logits = keras.ops.convert_to_numpy(classifier(hf_pretraining["inputs"]))
    want = hf_pretraining["pooler_output"] @ kernel.T + bias
    assert max_abs(logits, want) <= TOLERANCE


def test_embedding_dim_from_shapes(tree, tmp_path):
    params = copy.deepcopy(tree)
    rng = np.random.default_rng(0)
    embedder = params["encoder"]["embedder"]
    for name, shape in (("word", (101, 20)), ("type", (4, 20)), ("position", (1, 40, 20))):
        embedder[name]["embedding"] = rng.standard_normal(shape).astype("float32")
    embedder["layer_norm"] = {"scale": np.ones(20, "float32"), "bias": np.zeros(20, "float32")}
    embedder["hidden_mapping_in"]["kernel"] = rng.standard_normal((20, 30)).astype("float32")
    params["predictions_dense"]["kernel"] = rng.standard_normal((30, 20)).astype("float32")
    params["predictions_dense"]["bias"] = np.zeros(20, "float32")
    params["predictions_layer_norm"] = {"scale": np.ones(20, "float32"),
                                        "bias": np.zeros(20, "float32")}
    model = convert.from_flax(write_checkpoint(tmp_path / "ckpt", params))
    assert model.encoder.config.embedding_dim == 20 and model.encoder.config.hidden_dim == 30
    with pytest.raises(ConversionError, match="embedding_dim=20 differs from hidden_dim=30"):
        convert.to_transformers(model, str(tmp_path / "hf"))


def test_errors(tree, tmp_path):
    bad = tmp_path / "garbage"
    bad.write_bytes(b"\xc1 not msgpack")
    with pytest.raises(ConversionError, match="not a Flax msgpack checkpoint"):
        convert.from_flax(str(bad))
    with pytest.raises(ConversionError, match="no 'target/encoder/embedder'"):
        convert.from_flax(write_checkpoint(tmp_path / "a", {"dense": {"kernel": np.ones((2, 2))}}))
    with pytest.raises(ConversionError, match="no checkpoint_<step>"):
        convert.from_flax(str(tmp_path / "a" / ".."))
    with pytest.raises(ConversionError, match="mixing='random'"):
        convert.from_flax(str(bad), mixing="random")

    hybrid = copy.deepcopy(tree)
    hybrid["encoder"]["self_attention_2"] = {"query": {"kernel": np.ones((30, 3, 10), "float32")}}
    with pytest.raises(ConversionError, match="'self_attention_2'"):
        convert.from_flax(write_checkpoint(tmp_path / "b", hybrid))

    missing = copy.deepcopy(tree)
    del missing["encoder"]["feed_forward_1"]["output"]["bias"]
    with pytest.raises(ConversionError,
                       match="missing tensor 'encoder/feed_forward_1/output/bias'"):
        convert.from_flax(write_checkpoint(tmp_path / "c", missing))

    wrong = copy.deepcopy(tree)
    wrong["encoder"]["feed_forward_2"]["intermediate"]["kernel"] = np.ones((30, 50), "float32")
    with pytest.raises(ConversionError,
                       match=r"'encoder/feed_forward_2/intermediate/kernel' has shape "
                             r"\(30, 50\), but the model needs \(30, 46\)"):
        convert.from_flax(write_checkpoint(tmp_path / "d", wrong))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="checked once, under the tensorflow backend, where Keras itself "
                    "imports neither torch nor flax")
def test_readers_import_neither_torch_nor_flax(hf_pretraining, tree, tmp_path):
    # keras_hub is not checked: `import keras_fnet` imports it (when installed)
    # to register the preprocessing layers.
    import subprocess
    import sys

    path = write_checkpoint(tmp_path / "ckpt", tree)
    script = (
        "import sys; from keras_fnet import convert; "
        f"convert.from_transformers({hf_pretraining['dir']!r}); convert.from_flax({path!r}); "
        "print(sorted(m for m in ('torch', 'flax', 'transformers') if m in sys.modules))"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
