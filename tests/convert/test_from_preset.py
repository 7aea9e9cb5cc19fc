"""`keras_fnet.from_preset` on directories that keras-hub and transformers wrote themselves.

Outputs are compared with the reference libraries' own outputs; the models are
the ones the converters (`python -m keras_fnet.convert`) give.
"""

import os

import numpy as np
import pytest

import keras_fnet
from keras_fnet import convert, presets
from keras_fnet.convert.common import model_weights
from tests.convert.convert_reference import (
    TOLERANCE,
    hf_config,
    hf_outputs,
    max_abs,
    randomize_torch,
    to_numpy,
)


def _same_weights(a, b):
    wa, wb = model_weights(a), model_weights(b)
    assert sorted(wa) == sorted(wb)
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


def test_keras_hub_preset(keras_hub_preset, tmp_path):
    pytest.importorskip("keras_hub")
    folder, inputs = keras_hub_preset["dir"], keras_hub_preset["inputs"]
    assert presets.detect_format(folder) == "keras-hub"
    encoder = keras_fnet.from_preset(folder)
    assert isinstance(encoder, keras_fnet.Encoder)
    assert encoder.spm_path == os.path.join(folder, presets.VOCABULARY_FILE)
    ours = to_numpy(encoder(inputs))
    assert max_abs(ours["sequence_output"], keras_hub_preset["sequence_output"]) <= TOLERANCE
    assert max_abs(ours["pooled_output"], keras_hub_preset["pooled_output"]) <= TOLERANCE
    _same_weights(encoder, convert.from_keras_hub(folder))  # what the converter gives
    # A fresh head on keras-hub's backbone, then our own preset of it, vocabulary included.
    clf = keras_fnet.Classifier.from_preset(folder, num_classes=2)
    assert clf.num_classes == 2 and clf.compiled
    ours_dir = str(tmp_path / "ours")
    clf.save_to_preset(ours_dir)
    again = keras_fnet.from_preset(ours_dir)
    assert isinstance(again, keras_fnet.Classifier)
    with open(again.spm_path, "rb") as a, open(encoder.spm_path, "rb") as b:
        assert a.read() == b.read()
    pooled = to_numpy(again.encoder(inputs))["pooled_output"]
    assert max_abs(pooled, keras_hub_preset["pooled_output"]) <= TOLERANCE


def test_transformers_pretraining_directory(hf_pretraining, tmp_path):
    folder, inputs = hf_pretraining["dir"], hf_pretraining["inputs"]
    assert presets.detect_format(folder) == "transformers"
    model = keras_fnet.from_preset(folder)
    assert isinstance(model, keras_fnet.Pretrainer)
    assert model.spm_path == os.path.join(folder, "spiece.model")
    length = inputs["token_ids"].shape[1]
    positions = np.tile(np.arange(length, dtype="int32"), (len(inputs["token_ids"]), 1))
    heads = to_numpy(model({**inputs, "mask_positions": positions}))
    assert max_abs(heads["mlm"], hf_pretraining["prediction_logits"]) <= TOLERANCE
    assert max_abs(heads["nsp"], hf_pretraining["seq_relationship_logits"]) <= TOLERANCE
    _same_weights(model, convert.from_transformers(folder))
    encoder = keras_fnet.Encoder.from_preset(folder)
    pooled = to_numpy(encoder(inputs))["pooled_output"]
    assert max_abs(pooled, hf_pretraining["pooler_output"]) <= TOLERANCE
    # Through our layout and back, still transformers' numbers.
    model.save_to_preset(str(tmp_path / "ours"))
    again = keras_fnet.from_preset(str(tmp_path / "ours"))
    heads = to_numpy(again({**inputs, "mask_positions": positions}))
    assert max_abs(heads["mlm"], hf_pretraining["prediction_logits"]) <= TOLERANCE


def test_transformers_classifier_directory(hf_pretraining, tmp_path):
    transformers = pytest.importorskip("transformers")
    reference = transformers.FNetForSequenceClassification(hf_config(num_labels=3))
    randomize_torch(reference, seed=4)
    reference.save_pretrained(tmp_path)
    inputs = hf_pretraining["inputs"]
    clf = keras_fnet.Classifier.from_preset(str(tmp_path))
    assert clf.num_classes == 3 and clf.spm_path is None
    logits = np.asarray(to_numpy({"x": clf(inputs)})["x"])
    assert max_abs(logits, hf_outputs(reference, inputs)["logits"]) <= TOLERANCE


def test_foreign_config_errors(tmp_path):
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ValueError, match="not an FNet or BERT checkpoint: config.json has "
                       "model_type 'gpt2'"):
        keras_fnet.from_preset(str(folder))
    (folder / "config.json").write_text('{"class_name": "GPT2Backbone", "config": {}}')
    with pytest.raises(ValueError, match="not an FNet or BERT preset"):
        keras_fnet.from_preset(str(folder))
