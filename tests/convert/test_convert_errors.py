"""Issue 12's converter tries: one-line errors, exit status 2, nothing half-written.

Also the special token ids that an exported transformers config carries,
checked against transformers' own `FNetTokenizer` on the same vocabulary.
"""

import json
import os
import shutil

import pytest

import keras_fnet
from keras_fnet.convert.__main__ import main
from tests.convert.convert_reference import edit_json

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "fnet.keras")
    keras_fnet.build_encoder("fnet_tiny", vocabulary_size=40, num_layers=1, hidden_dim=16,
                             intermediate_dim=8, max_sequence_length=16).save(path)
    return path


def _fails(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
    return err


def _hf_copy(hf_pretraining, tmp_path):
    folder = str(tmp_path / "hf")
    shutil.copytree(hf_pretraining["dir"], folder)
    return folder


def test_garbage_config_json(hf_pretraining, tmp_path, capsys):
    folder = _hf_copy(hf_pretraining, tmp_path)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write("{ this is not json")
    _fails(capsys, ["transformers", folder, str(tmp_path / "o.keras")],
           "config.json: not a readable JSON file (Expecting property name")
    assert not os.path.exists(tmp_path / "o.keras")


def test_garbage_safetensors(hf_pretraining, tmp_path, capsys):
    folder = _hf_copy(hf_pretraining, tmp_path)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(b"\x00garbage" * 10)
    _fails(capsys, ["transformers", folder, str(tmp_path / "o.keras")],
           "model.safetensors: not a readable model.safetensors file")


def test_negative_vocab_size(hf_pretraining, tmp_path, capsys):
    folder = _hf_copy(hf_pretraining, tmp_path)
    edit_json(os.path.join(folder, "config.json"), vocab_size=-5)
    _fails(capsys, ["transformers", folder, str(tmp_path / "o.keras")],
           "config.json: `vocabulary_size` must be a positive integer, got -5.")


def test_keras_hub_garbage_config(keras_hub_preset, tmp_path, capsys):
    folder = str(tmp_path / "hub")
    shutil.copytree(keras_hub_preset["dir"], folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write("[]")
    _fails(capsys, ["keras-hub", folder, str(tmp_path / "o.keras")],
           "config.json: expected a JSON object, got list")


@pytest.mark.parametrize("command", ["export-transformers", "export-keras-hub"])
def test_export_onto_an_existing_path(model_file, tmp_path, capsys, command):
    if command == "export-keras-hub":
        pytest.importorskip("keras_hub")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    _fails(capsys, [command, model_file, str(taken)],
           "exists and is not empty; pass overwrite=True")
    assert os.listdir(taken) == ["keep.txt"]
    (tmp_path / "file").write_text("x")
    _fails(capsys, [command, model_file, str(tmp_path / "file")], "exists and is not a directory")
    # --overwrite replaces the directory whole.
    assert main([command, model_file, str(taken), "--overwrite"]) == 0
    assert "keep.txt" not in os.listdir(taken) and "config.json" in os.listdir(taken)
    assert sorted(os.listdir(tmp_path)) == ["file", "taken"]  # no temporary left
    # A model file that is not there.
    _fails(capsys, [command, str(tmp_path / "missing.keras"), str(tmp_path / "new")],
           "is not a file; expected a .keras model")


def test_import_onto_an_existing_keras_file(hf_pretraining, model_file, capsys):
    _fails(capsys, ["transformers", hf_pretraining["dir"], model_file],
           "exists; pass overwrite=True")


def test_exported_special_ids_are_the_vocabulary_s(model_file, spm_file, tmp_path):
    # Issue 10 audit: pad/bos/eos were fixed at 3/1/2 whatever the vocabulary.
    out = str(tmp_path / "hf")
    assert main(["export-transformers", model_file, out, "--spm", spm_file]) == 0
    config = transformers.FNetConfig.from_pretrained(out)
    tokenizer = transformers.FNetTokenizer(vocab_file=os.path.join(out, "spiece.model"))
    assert (config.pad_token_id, config.bos_token_id, config.eos_token_id) == (
        tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id)
    assert config.pad_token_id != 3  # this vocabulary's [SEP] is 3
    # Without a vocabulary, transformers' own defaults (the official vocabulary's ids).
    out = str(tmp_path / "plain")
    assert main(["export-transformers", model_file, out]) == 0
    with open(os.path.join(out, "config.json")) as f:
        written = json.load(f)
    default = transformers.FNetConfig()
    assert (written["pad_token_id"], written["bos_token_id"], written["eos_token_id"]) == (
        default.pad_token_id, default.bos_token_id, default.eos_token_id)
