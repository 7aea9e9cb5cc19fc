"""BERT from transformers and keras-hub into the zoo's `bert` family, and back.

Every reference number comes from the library that wrote the checkpoint:
transformers (on PyTorch, whatever KERAS_BACKEND is) or keras-hub's
`BertBackbone` (on the same backend as the converted model). Inputs hold two
segments and a padded row, so the attention mask and the segment table count.
"""

import os
import shutil

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import convert, presets
from keras_fnet.convert.__main__ import main
from keras_fnet.convert.common import ConversionError
from tests.convert.convert_reference import (
    BERT_SIZES,
    SIZES,
    TOLERANCE,
    bert_config,
    bert_outputs,
    edit_json,
    max_abs,
    randomize_torch,
    to_numpy,
)

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


def _heads(model, inputs):
    length = inputs["token_ids"].shape[1]
    positions = np.tile(np.arange(length, dtype="int32"), (len(inputs["token_ids"]), 1))
    return to_numpy(model({**inputs, "mask_positions": positions}))


def _encoder(model):
    return model if isinstance(model, keras_fnet.Encoder) else model.encoder


def _check_encoder(model, reference, pooled=True):
    ours = to_numpy(_encoder(model)(reference["inputs"]))
    assert max_abs(ours["sequence_output"], reference["last_hidden_state"]) <= TOLERANCE
    if pooled:
        assert max_abs(ours["pooled_output"], reference["pooler_output"]) <= TOLERANCE
    return ours


@pytest.fixture(scope="module")
def pretrainer(hf_bert):
    return convert.from_transformers(hf_bert["dir"])


def test_bert_for_pretraining_matches_transformers(hf_bert, pretrainer):
    assert isinstance(pretrainer, keras_fnet.Pretrainer)
    config = pretrainer.encoder.config
    assert (config.mixing, config.activation, config.embedding_projection) == (
        "attention", "gelu", False)
    assert (config.num_heads, config.num_segments, config.hidden_dim) == (
        BERT_SIZES["heads"], 2, SIZES["hidden"])
    assert config.to_dict() == keras_fnet.get_config(
        "bert_tiny", **{k: v for k, v in config.to_dict().items()
                        if k not in ("mixing", "embedding_projection")}).to_dict()
    _check_encoder(pretrainer, hf_bert)
    heads = _heads(pretrainer, hf_bert["inputs"])
    assert max_abs(heads["mlm"], hf_bert["prediction_logits"]) <= TOLERANCE
    assert max_abs(heads["nsp"], hf_bert["seq_relationship_logits"]) <= TOLERANCE


def test_the_gelu_variant_shows_at_this_tolerance(hf_bert, pretrainer):
    """The check above can tell the exact GELU from the tanh one."""
    tanh = keras_fnet.Encoder(pretrainer.encoder.config.replace(activation="gelu_approximate"))
    tanh.set_weights(pretrainer.encoder.get_weights())
    out = to_numpy(tanh(hf_bert["inputs"]))["sequence_output"]
    assert max_abs(out, hf_bert["last_hidden_state"]) > 10 * TOLERANCE


def test_bert_model_with_tanh_gelu_and_other_epsilon(hf_bert, tmp_path):
    model = transformers.BertModel(bert_config(hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6))
    randomize_torch(model, seed=6)
    model.save_pretrained(tmp_path)
    encoder = convert.from_transformers(str(tmp_path))
    assert isinstance(encoder, keras_fnet.Encoder)
    assert (encoder.config.activation, encoder.config.layer_norm_epsilon) == (
        "gelu_approximate", 1e-6)
    _check_encoder(encoder, {"inputs": hf_bert["inputs"], **bert_outputs(model, hf_bert["inputs"])})


def test_bert_for_masked_lm_gives_encoder_with_fresh_pooler(hf_bert, tmp_path):
    model = transformers.BertForMaskedLM(bert_config())
    randomize_torch(model, seed=7)
    model.save_pretrained(tmp_path)
    with pytest.warns(UserWarning) as record:
        encoder = convert.from_transformers(str(tmp_path))
    messages = " ".join(str(w.message) for w in record)
    assert "no pooler" in messages and "only one of the MLM and NSP heads" in messages
    assert isinstance(encoder, keras_fnet.Encoder)
    reference = bert_outputs(model.bert, hf_bert["inputs"])
    _check_encoder(encoder, {"inputs": hf_bert["inputs"], **reference}, pooled=False)


def test_bert_sequence_classifier(hf_bert, tmp_path):
    model = transformers.BertForSequenceClassification(bert_config(num_labels=3))
    randomize_torch(model, seed=8)
    model.save_pretrained(tmp_path)
    classifier = convert.from_transformers(str(tmp_path))
    assert isinstance(classifier, keras_fnet.Classifier) and classifier.num_classes == 3
    logits = keras.ops.convert_to_numpy(classifier(hf_bert["inputs"]))
    assert max_abs(logits, bert_outputs(model, hf_bert["inputs"])["logits"]) <= TOLERANCE


def test_command_line_and_from_preset(hf_bert, pretrainer, tmp_path):
    out = str(tmp_path / "bert.keras")
    assert main(["transformers", hf_bert["dir"], out]) == 0
    with open(tmp_path / "bert.vocab.txt") as f:
        with open(os.path.join(hf_bert["dir"], "vocab.txt")) as g:
            assert f.read() == g.read()
    loaded = keras.saving.load_model(out)
    assert isinstance(loaded, keras_fnet.Pretrainer)
    inputs = hf_bert["inputs"]
    np.testing.assert_array_equal(_heads(loaded, inputs)["mlm"], _heads(pretrainer, inputs)["mlm"])
    # from_preset tells the directory apart and gives the converter's model.
    assert presets.detect_format(hf_bert["dir"]) == "transformers"
    model = keras_fnet.from_preset(hf_bert["dir"])
    assert isinstance(model, keras_fnet.Pretrainer) and model.spm_path is None
    assert max_abs(_heads(model, inputs)["nsp"], hf_bert["seq_relationship_logits"]) <= TOLERANCE
    _check_encoder(keras_fnet.Encoder.from_preset(hf_bert["dir"]), hf_bert)


def test_export_to_transformers_round_trip(hf_bert, pretrainer, wordpiece_file, tmp_path):
    out = str(tmp_path / "hf")
    convert.to_transformers(pretrainer, out, wordpiece_path=wordpiece_file)
    model, info = transformers.BertForPreTraining.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    reference = bert_outputs(model, hf_bert["inputs"])
    assert max_abs(reference["prediction_logits"], hf_bert["prediction_logits"]) <= 1e-5
    assert max_abs(reference["last_hidden_state"], hf_bert["last_hidden_state"]) <= 1e-5
    tokenizer = transformers.BertTokenizer(vocab_file=os.path.join(out, "vocab.txt"))
    assert model.config.pad_token_id == tokenizer.pad_token_id == 0


def test_unsupported_bert_configs_name_the_field(hf_bert, tmp_path):
    cases = [
        (dict(position_embedding_type="relative_key"), "position_embedding_type='relative_key'"),
        (dict(hidden_act="relu"), "hidden_act='relu'"),
        (dict(is_decoder=True), "is_decoder=True"),
        (dict(num_attention_heads=4), "`hidden_dim` (30) must be divisible by `num_heads` (4)"),
    ]
    for i, (changes, message) in enumerate(cases):
        folder = tmp_path / str(i)
        shutil.copytree(hf_bert["dir"], folder)
        edit_json(folder / "config.json", **changes)
        with pytest.raises(ConversionError, match=message.replace("(", r"\(").replace(")", r"\)")):
            convert.from_transformers(str(folder))


def test_untied_decoder_is_refused(hf_bert, tmp_path):
    from safetensors.numpy import load_file, save_file

    shutil.copytree(hf_bert["dir"], tmp_path / "untied")
    path = tmp_path / "untied" / "model.safetensors"
    state = load_file(str(path))
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"] + 1
    save_file(state, str(path), metadata={"format": "pt"})
    with pytest.raises(ConversionError, match="tie_word_embeddings=False"):
        convert.from_transformers(str(tmp_path / "untied"))


@pytest.fixture(scope="module")
def hub_encoder(keras_hub_bert):
    return convert.from_keras_hub(keras_hub_bert["dir"])


def _check_hub(encoder, reference):
    ours = to_numpy(encoder(reference["inputs"]))
    assert max_abs(ours["sequence_output"], reference["sequence_output"]) <= TOLERANCE
    assert max_abs(ours["pooled_output"], reference["pooled_output"]) <= TOLERANCE


def test_bert_backbone_matches_keras_hub(keras_hub_bert, hub_encoder):
    assert isinstance(hub_encoder, keras_fnet.Encoder)
    config = hub_encoder.config
    assert (config.activation, config.embedding_projection, config.num_segments) == (
        "gelu_approximate", False, 2)
    _check_hub(hub_encoder, keras_hub_bert)


def test_keras_hub_command_line_from_preset_and_old_files(keras_hub_bert, tmp_path):
    import h5py

    out = str(tmp_path / "bert.keras")
    assert main(["keras-hub", keras_hub_bert["dir"], out]) == 0
    assert os.path.exists(tmp_path / "bert.vocab.txt")
    _check_hub(keras.saving.load_model(out), keras_hub_bert)
    assert presets.detect_format(keras_hub_bert["dir"]) == "keras-hub"
    _check_hub(keras_fnet.from_preset(keras_hub_bert["dir"]), keras_hub_bert)
    # A weights file without layer names is read through keras-hub.
    folder = str(tmp_path / "old")
    shutil.copytree(keras_hub_bert["dir"], folder)
    with h5py.File(os.path.join(folder, "model.weights.h5"), "r+") as f:
        f.visititems(lambda name, obj: (obj.attrs.__delitem__("name") if "name" in obj.attrs
                                        else None))
    _check_hub(convert.from_keras_hub(folder), keras_hub_bert)


def test_export_to_keras_hub_round_trip(keras_hub_bert, hub_encoder, wordpiece_file, pretrainer,
                                        tmp_path):
    keras_hub = pytest.importorskip("keras_hub")
    out = convert.to_keras_hub(hub_encoder, str(tmp_path / "preset"), wordpiece_path=wordpiece_file)
    backbone = keras_hub.models.BertBackbone.from_preset(out)
    theirs = to_numpy(backbone(keras_hub_bert["inputs"]))
    assert max_abs(theirs["sequence_output"], keras_hub_bert["sequence_output"]) <= 1e-5
    assert keras_hub.models.BertTokenizer.from_preset(out).vocabulary_size() == SIZES["vocab"]
    # keras-hub's BERT has the tanh GELU only.
    with pytest.raises(ConversionError, match="activation='gelu'"):
        convert.to_keras_hub(pretrainer, str(tmp_path / "exact"))


def test_export_refuses_what_bert_cannot_hold(tmp_path):
    config = keras_fnet.get_config(
        "bert_tiny", vocabulary_size=SIZES["vocab"], hidden_dim=SIZES["hidden"], num_heads=3,
        intermediate_dim=SIZES["intermediate"], max_sequence_length=SIZES["positions"])
    cases = [(dict(embedding_projection=True), "embedding_projection=True"),
             (dict(norm_first=True), "norm_first=True")]
    for changes, message in cases:
        with pytest.raises(ConversionError, match=message):
            convert.to_transformers(keras_fnet.Encoder(config.replace(**changes)),
                                    str(tmp_path / "out"))
