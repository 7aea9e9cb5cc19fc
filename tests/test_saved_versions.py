"""Files written by an earlier version still load, with the same settings and numbers.

`tests/fixtures/v36f8e21/` holds encoders saved by keras-fnet at commit 36f8e21, whose configs
spell the mixing options as flat fields (see its README and `write.py`); they load into today's
`mixing_options`.
"""

import os

import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import presets

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "v36f8e21")
SAVED = np.load(os.path.join(FIXTURES, "outputs.npz"))
INPUTS = {k[len("input_"):]: SAVED[k] for k in SAVED.files if k.startswith("input_")}


def _mixings(encoder):
    return [block.mixing for block in encoder.layers
            if isinstance(block, keras_fnet.layers.EncoderBlock)]


def _check_outputs(encoder, name):
    got = keras.ops.convert_to_numpy(encoder(INPUTS)["sequence_output"])
    np.testing.assert_allclose(got, SAVED[f"{name}_sequence_output"], rtol=1e-4, atol=1e-4)


def test_hybrid_encoder_keeps_its_fourier_and_attention_options():
    encoder = keras.saving.load_model(os.path.join(FIXTURES, "hybrid.keras"))
    assert encoder.config.mixing_options == {"fourier_implementation": "dft",
                                             "attention_implementation": "explicit"}
    assert [type(m).__name__ for m in _mixings(encoder)] == [
        "FourierMixing", "AttentionMixing", "AttentionMixing"]
    assert [m.implementation for m in _mixings(encoder)] == ["dft", "explicit", "explicit"]
    _check_outputs(encoder, "hybrid")


def test_performer_encoder_keeps_its_random_features():
    encoder = keras.saving.load_model(os.path.join(FIXTURES, "performer.keras"))
    assert encoder.config.mixing_options == {"num_random_features": 8}
    assert encoder.config.num_random_features == 8 and encoder.config.seed == 3
    assert all(m.num_random_features == 8 for m in _mixings(encoder))
    _check_outputs(encoder, "performer")


def test_preset_directory_loads():
    encoder = presets.from_preset(os.path.join(FIXTURES, "hybrid_preset"))
    assert encoder.config.mixing_options == {"fourier_implementation": "dft",
                                             "attention_implementation": "explicit"}
    _check_outputs(encoder, "hybrid")


def test_saved_again_the_config_has_mixing_options(tmp_path):
    encoder = keras.saving.load_model(os.path.join(FIXTURES, "hybrid.keras"))
    path = str(tmp_path / "again.keras")
    encoder.save(path)
    again = keras.saving.load_model(path)
    saved = again.get_config()["config"]
    assert "fourier_implementation" not in saved
    assert saved["mixing_options"] == encoder.config.mixing_options
    _check_outputs(again, "hybrid")


@pytest.mark.parametrize("field,value", [("fourier_implementation", "fft"),
                                         ("num_random_features", 4)])
def test_old_config_dicts_read_flat_fields_as_mixing_options(field, value):
    old = dict(keras_fnet.get_config("fnet_tiny").to_dict(), fourier_implementation="auto",
               attention_implementation="auto", num_random_features=256)
    del old["mixing_options"]
    config = keras_fnet.EncoderConfig.from_dict(dict(old, **{field: value}))
    assert config.mixing_options == {field: value}
    assert config == keras_fnet.get_config("fnet_tiny", mixing_options={field: value})
