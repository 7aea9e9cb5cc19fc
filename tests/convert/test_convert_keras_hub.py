"""keras-hub presets <-> keras_fnet, checked against keras-hub's FNetBackbone.

keras-hub is a Keras 3 library, so the reference backbone is built and run
under the same KERAS_BACKEND as the converted model (all three work).
"""

import os
import shutil

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import convert
from keras_fnet.convert.__main__ import main
from keras_fnet.convert.common import ConversionError
from tests.convert.convert_reference import TOLERANCE, edit_json, max_abs, to_numpy

keras_hub = pytest.importorskip("keras_hub")


@pytest.fixture(scope="module")
def encoder(keras_hub_preset):
    return convert.from_keras_hub(keras_hub_preset["dir"])


def test_preset_matches_keras_hub(keras_hub_preset, encoder):
    assert isinstance(encoder, keras_fnet.Encoder)
    assert encoder.config.num_segments == 4 and encoder.config.max_sequence_length == 40
    ours = to_numpy(encoder(keras_hub_preset["inputs"]))
    assert max_abs(ours["sequence_output"], keras_hub_preset["sequence_output"]) <= TOLERANCE
    assert max_abs(ours["pooled_output"], keras_hub_preset["pooled_output"]) <= TOLERANCE


def test_command_line_carries_tokenizer(keras_hub_preset, encoder, tmp_path):
    out = str(tmp_path / "fnet.keras")
    assert main(["keras-hub", keras_hub_preset["dir"], out]) == 0
    assert os.path.exists(tmp_path / "fnet.spm.model")
    loaded = keras.saving.load_model(out)
    inputs = keras_hub_preset["inputs"]
    np.testing.assert_array_equal(
        to_numpy(loaded(inputs))["sequence_output"], to_numpy(encoder(inputs))["sequence_output"]
    )


def test_export_round_trip(keras_hub_preset, encoder, tmp_path):
    out = str(tmp_path / "preset")
    model_path = str(tmp_path / "enc.keras")
    encoder.save(model_path)
    shutil.copyfile(os.path.join(keras_hub_preset["dir"], "assets", "tokenizer", "vocabulary.spm"),
                    convert.spm_path_for(model_path))
    assert main(["export-keras-hub", model_path, out]) == 0
    inputs = keras_hub_preset["inputs"]
    backbone = keras_hub.models.FNetBackbone.from_preset(out)
    theirs = to_numpy(backbone({k: inputs[k] for k in ("token_ids", "segment_ids")}))
    assert max_abs(theirs["sequence_output"], keras_hub_preset["sequence_output"]) <= 1e-6
    tokenizer = keras_hub.models.FNetTokenizer.from_preset(out)
    assert tokenizer.vocabulary_size() > 0
    again = convert.from_keras_hub(out)
    ours, back = to_numpy(encoder(inputs)), to_numpy(again(inputs))
    for key in ours:
        np.testing.assert_array_equal(back[key], ours[key])


def test_pretrainer_exports_its_encoder(keras_hub_preset, tmp_path):
    pretrainer = keras_fnet.build_pretrainer(convert.from_keras_hub(keras_hub_preset["dir"]),
                                             compile=False)
    out = convert.to_keras_hub(pretrainer, str(tmp_path / "preset"))
    assert keras_hub.models.FNetBackbone.from_preset(out).num_layers == 3


def test_weights_file_without_layer_names(keras_hub_preset, encoder, tmp_path):
    """Older Keras files do not name their layers: read through keras-hub."""
    import h5py

    folder = str(tmp_path / "old")
    shutil.copytree(keras_hub_preset["dir"], folder)
    with h5py.File(os.path.join(folder, "model.weights.h5"), "r+") as f:
        f.visititems(lambda name, obj: (obj.attrs.__delitem__("name") if "name" in obj.attrs
                                        else None))
    old = convert.from_keras_hub(folder)
    inputs = keras_hub_preset["inputs"]
    np.testing.assert_array_equal(
        to_numpy(old(inputs))["pooled_output"], to_numpy(encoder(inputs))["pooled_output"]
    )


def test_not_an_fnet_preset(keras_hub_preset, tmp_path):
    folder = str(tmp_path / "gpt2")
    shutil.copytree(keras_hub_preset["dir"], folder)
    edit_json(os.path.join(folder, "config.json"), class_name="GPT2Backbone",
              registered_name="keras_hub>GPT2Backbone")
    with pytest.raises(ConversionError, match="not an FNet or BERT preset.*'GPT2Backbone'"):
        convert.from_keras_hub(folder)
    with pytest.raises(ConversionError, match="no config.json"):
        convert.from_keras_hub(str(tmp_path))


def test_shape_mismatch_names_tensor_and_shapes(keras_hub_preset, tmp_path):
    import h5py

    folder = str(tmp_path / "bad")
    shutil.copytree(keras_hub_preset["dir"], folder)
    with h5py.File(os.path.join(folder, "model.weights.h5"), "r+") as f:
        del f["layers/position_embedding/vars/0"]
        f["layers/position_embedding/vars"].create_dataset("0", data=np.zeros((41, 30), "float32"))
    with pytest.raises(ConversionError,
                       match=r"'position_embedding/0' has shape \(41, 30\).*\(40, 30\)"):
        convert.from_keras_hub(folder)


def test_export_refuses_what_fnet_backbone_cannot_hold(encoder, tmp_path):
    config = encoder.config.replace(layer_norm_epsilon=1e-6)
    with pytest.raises(ConversionError, match="layer_norm_epsilon=1e-06"):
        convert.to_keras_hub(keras_fnet.Encoder(config), str(tmp_path / "x"))
    with pytest.raises(ConversionError, match="embedding_dim=20 differs"):
        convert.to_keras_hub(keras_fnet.Encoder(encoder.config.replace(embedding_dim=20)),
                             str(tmp_path / "z"))
