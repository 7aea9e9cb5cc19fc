"""Hugging Face transformers <-> keras_fnet, checked against transformers itself.

transformers runs on PyTorch (installed with the test extra) whatever
KERAS_BACKEND is, so these tests run under all three backends.
"""

import os

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import convert
from keras_fnet.convert.__main__ import main
from keras_fnet.convert.common import ConversionError
from tests.convert.convert_reference import (
    SIZES,
    TOLERANCE,
    edit_json,
    hf_config,
    hf_outputs,
    max_abs,
    randomize_torch,
    to_numpy,
)

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


def _encoder_outputs(model, inputs):
    encoder = model if isinstance(model, keras_fnet.Encoder) else model.encoder
    return to_numpy(encoder(inputs))


def _pretrainer_outputs(model, inputs):
    length = inputs["token_ids"].shape[1]
    positions = np.tile(np.arange(length, dtype="int32"), (inputs["token_ids"].shape[0], 1))
    return to_numpy(model({**inputs, "mask_positions": positions}))


@pytest.fixture(scope="module")
def pretrainer(hf_pretraining):
    return convert.from_transformers(hf_pretraining["dir"])


def test_pretraining_checkpoint_matches_transformers(hf_pretraining, pretrainer):
    assert isinstance(pretrainer, keras_fnet.Pretrainer)
    config = pretrainer.encoder.config
    assert (config.vocabulary_size, config.hidden_dim, config.num_layers) == (101, 30, 3)
    inputs = hf_pretraining["inputs"]
    ours = _encoder_outputs(pretrainer, inputs)
    assert max_abs(ours["sequence_output"], hf_pretraining["last_hidden_state"]) <= TOLERANCE
    assert max_abs(ours["pooled_output"], hf_pretraining["pooler_output"]) <= TOLERANCE
    heads = _pretrainer_outputs(pretrainer, inputs)
    assert max_abs(heads["mlm"], hf_pretraining["prediction_logits"]) <= TOLERANCE
    assert max_abs(heads["nsp"], hf_pretraining["seq_relationship_logits"]) <= TOLERANCE


def test_fnet_model_without_prefix_gives_encoder(hf_pretraining, tmp_path):
    hf_pretraining["model"].fnet.save_pretrained(tmp_path)
    encoder = convert.from_transformers(str(tmp_path))
    assert isinstance(encoder, keras_fnet.Encoder)
    ours = _encoder_outputs(encoder, hf_pretraining["inputs"])
    assert max_abs(ours["sequence_output"], hf_pretraining["last_hidden_state"]) <= TOLERANCE
    assert max_abs(ours["pooled_output"], hf_pretraining["pooler_output"]) <= TOLERANCE


def test_pytorch_bin_checkpoint(hf_pretraining, tmp_path):
    state = {k: v.contiguous() for k, v in hf_pretraining["model"].state_dict().items()}
    torch.save(state, tmp_path / "pytorch_model.bin")
    hf_pretraining["model"].config.to_json_file(tmp_path / "config.json")
    encoder = convert.from_transformers(str(tmp_path), encoder_only=True)
    assert isinstance(encoder, keras_fnet.Encoder)
    ours = _encoder_outputs(encoder, hf_pretraining["inputs"])
    assert max_abs(ours["sequence_output"], hf_pretraining["last_hidden_state"]) <= TOLERANCE


def test_sequence_classifier_checkpoint(hf_pretraining, tmp_path):
    model = transformers.FNetForSequenceClassification(hf_config(num_labels=3))
    randomize_torch(model, seed=3)
    model.save_pretrained(tmp_path)
    inputs = hf_pretraining["inputs"]
    reference = hf_outputs(model, inputs)["logits"]
    classifier = convert.from_transformers(str(tmp_path))
    assert isinstance(classifier, keras_fnet.Classifier) and classifier.num_classes == 3
    logits = keras.ops.convert_to_numpy(classifier(inputs))
    assert max_abs(logits, reference) <= TOLERANCE


def test_command_line_writes_keras_file_and_tokenizer(hf_pretraining, pretrainer, tmp_path):
    out = str(tmp_path / "fnet.keras")
    assert main(["transformers", hf_pretraining["dir"], out]) == 0
    with open(tmp_path / "fnet.spm.model", "rb") as f, open(
        os.path.join(hf_pretraining["dir"], "spiece.model"), "rb"
    ) as g:
        assert f.read() == g.read()
    loaded = keras.saving.load_model(out)
    assert isinstance(loaded, keras_fnet.Pretrainer)
    inputs = hf_pretraining["inputs"]
    np.testing.assert_array_equal(
        _pretrainer_outputs(loaded, inputs)["mlm"], _pretrainer_outputs(pretrainer, inputs)["mlm"]
    )
    argv = ["transformers", hf_pretraining["dir"], str(tmp_path / "e.keras"), "--encoder-only"]
    assert main(argv) == 0
    assert isinstance(keras.saving.load_model(str(tmp_path / "e.keras")), keras_fnet.Encoder)


def test_export_round_trip(hf_pretraining, pretrainer, spm_file, tmp_path):
    out = str(tmp_path / "hf")
    convert.to_transformers(pretrainer, out, spm_path=spm_file)
    assert os.path.exists(os.path.join(out, "spiece.model"))
    # transformers loads it with every weight present, and computes the same.
    model, info = transformers.FNetForPreTraining.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    reference = hf_outputs(model, hf_pretraining["inputs"])
    assert max_abs(reference["prediction_logits"], hf_pretraining["prediction_logits"]) <= 1e-6
    base = transformers.FNetModel.from_pretrained(out)
    assert max_abs(hf_outputs(base, hf_pretraining["inputs"])["last_hidden_state"],
                   hf_pretraining["last_hidden_state"]) <= 1e-6
    # Back into keras_fnet: identical outputs.
    again = convert.from_transformers(out)
    inputs = hf_pretraining["inputs"]
    for key, value in _pretrainer_outputs(pretrainer, inputs).items():
        np.testing.assert_array_equal(_pretrainer_outputs(again, inputs)[key], value)


def test_export_encoder_and_command_line(pretrainer, tmp_path):
    model_path = str(tmp_path / "enc.keras")
    pretrainer.encoder.save(model_path)
    out = str(tmp_path / "hf")
    assert main(["export-transformers", model_path, out]) == 0
    model = transformers.FNetModel.from_pretrained(out)
    assert model.config.hidden_size == SIZES["hidden"]


@pytest.mark.parametrize(
    "overrides, reason",
    [
        # An attention encoder is written as a BERT, which has no embedding projection.
        (dict(mixing="attention", num_heads=3), "embedding_projection=True, BERT has no"),
        (dict(attention_layers=(-1,), num_heads=3), "attention_layers"),  # fnet_hybrid_*
        (dict(embedding_dim=20), "embedding_dim=20 differs"),
        (dict(mixing="hartley"), "mixing is 'hartley'"),
    ],
)
def test_export_refuses_other_architectures(overrides, reason, tmp_path):
    # The reference sizes: the same weight shapes build fast under JAX.
    config = keras_fnet.get_config(
        "fnet_tiny", vocabulary_size=SIZES["vocab"], hidden_dim=SIZES["hidden"],
        intermediate_dim=SIZES["intermediate"], max_sequence_length=SIZES["positions"], **overrides)
    with pytest.raises(ConversionError, match=reason):
        convert.to_transformers(keras_fnet.Encoder(config), str(tmp_path / "out"))


def test_not_an_fnet_directory(hf_pretraining, tmp_path):
    with pytest.raises(ConversionError, match="not a directory"):
        convert.from_transformers(str(tmp_path / "nothing"))
    with pytest.raises(ConversionError, match="no config.json"):
        convert.from_transformers(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ConversionError, match="model_type 'gpt2'"):
        convert.from_transformers(str(tmp_path))


def _copy_checkpoint(hf_pretraining, tmp_path, drop=None, replace=None, config=None):
    from safetensors.numpy import load_file, save_file

    state = load_file(os.path.join(hf_pretraining["dir"], "model.safetensors"))
    if drop:
        del state[drop]
    state.update(replace or {})
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    hf_pretraining["model"].config.to_json_file(tmp_path / "config.json")
    if config:
        edit_json(tmp_path / "config.json", **config)
    return str(tmp_path)


def test_missing_tensor_is_named(hf_pretraining, tmp_path):
    src = _copy_checkpoint(hf_pretraining, tmp_path, drop="fnet.encoder.layer.1.output.dense.bias")
    with pytest.raises(ConversionError,
                       match=r"missing tensor 'fnet.encoder.layer.1.output.dense.bias'"):
        convert.from_transformers(src)


def test_shape_mismatch_names_tensor_and_shapes(hf_pretraining, tmp_path):
    name = "fnet.encoder.layer.2.intermediate.dense.weight"
    src = _copy_checkpoint(hf_pretraining, tmp_path, replace={name: np.zeros((47, 30), "float32")})
    with pytest.raises(ConversionError) as error:
        convert.from_transformers(src)
    message = str(error.value)
    assert f"tensor {name!r} has shape (47, 30), but the model needs (46, 30)" in message


def test_exact_gelu_is_kept_and_other_activations_refused(hf_pretraining, tmp_path):
    src = _copy_checkpoint(hf_pretraining, tmp_path, config={"hidden_act": "gelu"})
    exact = convert.from_transformers(src, encoder_only=True)
    assert exact.config.activation == "gelu"
    model = transformers.FNetModel.from_pretrained(src)
    reference = hf_outputs(model, hf_pretraining["inputs"])["last_hidden_state"]
    ours = _encoder_outputs(exact, hf_pretraining["inputs"])["sequence_output"]
    assert max_abs(ours, reference) <= TOLERANCE
    edit_json(tmp_path / "config.json", hidden_act="relu")
    with pytest.raises(ConversionError, match="hidden_act='relu' is not supported"):
        convert.from_transformers(src)
