"""Presets in keras-hub's directory layout: round trips, fresh heads, whole writes, errors.

Foreign directories (keras-hub presets, transformers directories) are tested in
`tests/convert/test_from_preset.py`, beside the reference checkpoints.
"""

import json
import os

import h5py
import keras
import numpy as np
import pytest

import keras_fnet
from keras_fnet import presets

SIZES = dict(vocabulary_size=61, num_layers=2, hidden_dim=18, intermediate_dim=26,
             max_sequence_length=16)


def _inputs(pretrainer=False):
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(0, SIZES["vocabulary_size"], (2, 11)).astype("int32"),
        "segment_ids": rng.integers(0, 2, (2, 11)).astype("int32"),
        "padding_mask": np.ones((2, 11), "int32"),
    }
    if pretrainer:
        x["mask_positions"] = np.array([[1, 4], [2, 9]], "int32")
    return x


def _randomized(model):
    """Random non-trivial values in every weight, from numpy."""
    rng = np.random.default_rng(1)
    values = {}
    for variable in model.weights:
        value = (0.3 * rng.standard_normal(tuple(variable.shape))).astype("float32")
        variable.assign(value)
        values[variable.path] = value
    return model, values


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _numpy(outputs):
    return keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), outputs)


BUILDERS = {
    "Encoder": lambda: keras_fnet.build_encoder("fnet_tiny", **SIZES),
    "Classifier": lambda: keras_fnet.build_classifier("fnet_tiny", num_classes=3, **SIZES),
    "Pretrainer": lambda: keras_fnet.build_pretrainer("fnet_tiny", **SIZES),
}


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory):
    """A small SentencePiece model file (copied byte for byte into presets)."""
    from keras_fnet.data.tokenizer import mock_vocabulary

    path = tmp_path_factory.mktemp("vocabulary") / "spm.model"
    path.write_bytes(mock_vocabulary(vocab_size=SIZES["vocabulary_size"]))
    return str(path)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_round_trip_in_keras_hub_layout(kind, tmp_path, vocabulary):
    model, values = _randomized(BUILDERS[kind]())
    x = _inputs(kind == "Pretrainer")
    expected = _numpy(model(x))
    out = str(tmp_path / "preset")
    assert model.save_to_preset(out, vocabulary=vocabulary) == out

    files = sorted(os.listdir(out))
    task_files = ["task.json", "task.weights.h5"] if kind != "Encoder" else []
    assert files == sorted(["assets", "config.json", "metadata.json", "model.weights.h5"]
                           + task_files)
    assert _bytes(os.path.join(out, presets.VOCABULARY_FILE)) == _bytes(vocabulary)
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert config["registered_name"] == "keras_fnet>Encoder" and "build_config" not in config
    with open(os.path.join(out, "metadata.json")) as f:
        metadata = json.load(f)
    encoder = model if kind == "Encoder" else model.encoder
    assert metadata["parameter_count"] == encoder.count_params()
    assert metadata["keras_version"] == keras.version()
    if task_files:
        with open(os.path.join(out, "task.json")) as f:
            assert json.load(f)["registered_name"] == f"keras_fnet>{kind}"
        # The task file holds only the weights outside the encoder (keras-hub's rule).
        with h5py.File(os.path.join(out, "task.weights.h5")) as f:
            stored = []
            f.visititems(lambda name, obj: (stored.append(name) if isinstance(obj, h5py.Dataset)
                                            else None))
        head = {v.path for v in model.weights} - {v.path for v in encoder.weights}
        assert len(stored) == len(head) > 0

    loaded = keras_fnet.from_preset(out)
    assert type(loaded) is type(model)
    assert loaded.spm_path == os.path.join(out, presets.VOCABULARY_FILE)
    for variable in loaded.weights:  # every weight as the numpy values put in
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), values[variable.path])
    got = _numpy(loaded(x))
    keras.tree.map_structure(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6),
                             got, expected)
    # The vocabulary travels on when the loaded model is saved again.
    again = str(tmp_path / "again")
    loaded.save_to_preset(again)
    assert os.path.exists(os.path.join(again, presets.VOCABULARY_FILE))


def test_classifier_from_encoder_preset_gets_a_fresh_compiled_head(tmp_path, vocabulary):
    encoder, values = _randomized(BUILDERS["Pretrainer"]())
    out = str(tmp_path / "pretrained")
    encoder.save_to_preset(out, vocabulary=vocabulary)
    clf = keras_fnet.Classifier.from_preset(out, num_classes=4)
    assert isinstance(clf, keras_fnet.Classifier) and clf.num_classes == 4
    assert clf.spm_path.endswith("vocabulary.spm")
    for variable in clf.encoder.weights:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), values[variable.path])
    x = _inputs()
    assert clf.compiled and isinstance(clf.loss, keras.losses.SparseCategoricalCrossentropy)
    # A classifier preset keeps its own head unless another size is asked for.
    clf_dir = str(tmp_path / "clf")
    clf.save_to_preset(clf_dir)
    same = keras_fnet.Classifier.from_preset(clf_dir)
    np.testing.assert_allclose(_numpy(same(x)), _numpy(clf(x)), atol=1e-6)
    assert keras_fnet.Classifier.from_preset(clf_dir, num_classes=4).num_classes == 4
    assert keras_fnet.Classifier.from_preset(clf_dir, num_classes=2).output_shape == (None, 2)
    # Any preset gives its encoder; a preset without MLM/NSP heads gets fresh ones.
    enc = keras_fnet.Encoder.from_preset(clf_dir)
    assert isinstance(enc, keras_fnet.Encoder)
    np.testing.assert_array_equal(_numpy(enc(x))["pooled_output"],
                                  _numpy(clf.encoder(x))["pooled_output"])
    pre = keras_fnet.Pretrainer.from_preset(clf_dir)
    assert isinstance(pre, keras_fnet.Pretrainer) and pre.optimizer is not None
    saved = keras_fnet.Pretrainer.from_preset(out)  # the saved heads, as saved
    head = saved.get_layer("nsp_head").kernel
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(head), values[head.path])


def test_heads_and_classes_that_do_not_fit_are_refused(tmp_path):
    out = str(tmp_path / "enc")
    BUILDERS["Encoder"]().save_to_preset(out)
    with pytest.raises(presets.PresetError, match="no classification head; pass num_classes"):
        keras_fnet.Classifier.from_preset(out)
    with pytest.raises(presets.PresetError, match="num_classes applies only to Classifier"):
        keras_fnet.Pretrainer.from_preset(out, num_classes=3)


def test_writes_are_whole_and_never_overwrite_silently(tmp_path, monkeypatch):
    out = tmp_path / "preset"
    BUILDERS["Classifier"]().save_to_preset(str(out))
    before = {name: (out / name).read_bytes() for name in ("config.json", "task.json")}
    with pytest.raises(presets.PresetError, match="exists and is not empty; pass overwrite=True"):
        BUILDERS["Encoder"]().save_to_preset(str(out))
    assert {name: (out / name).read_bytes() for name in before} == before

    # A failure in the middle of a write leaves the old preset and no temporary.
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(presets.shutil, "copyfile", fail)
    vocabulary = tmp_path / "v.spm"
    vocabulary.write_bytes(b"x")
    with pytest.raises(OSError, match="disk full"):
        BUILDERS["Encoder"]().save_to_preset(str(out), vocabulary=str(vocabulary), overwrite=True)
    monkeypatch.undo()
    assert {name: (out / name).read_bytes() for name in before} == before
    assert sorted(os.listdir(tmp_path)) == ["preset", "v.spm"]

    # overwrite=True replaces the directory whole: no file of the old preset stays.
    BUILDERS["Encoder"]().save_to_preset(str(out), overwrite=True)
    assert sorted(os.listdir(out)) == ["config.json", "metadata.json", "model.weights.h5"]
    assert sorted(os.listdir(tmp_path)) == ["preset", "v.spm"]
    assert isinstance(keras_fnet.from_preset(str(out)), keras_fnet.Encoder)
    # An empty directory is fine to write into; a file is not.
    (tmp_path / "empty").mkdir()
    BUILDERS["Encoder"]().save_to_preset(str(tmp_path / "empty"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(presets.PresetError, match="exists and is not a directory"):
        BUILDERS["Encoder"]().save_to_preset(str(tmp_path / "file"))


def test_damaged_or_foreign_directories_give_one_line_errors(tmp_path):
    out = tmp_path / "preset"
    BUILDERS["Classifier"]().save_to_preset(str(out))
    cases = []

    def expect(pattern, path=out):
        with pytest.raises(ValueError) as info:
            keras_fnet.from_preset(str(path))
        assert "\n" not in str(info.value)
        assert __import__("re").search(pattern, str(info.value)), str(info.value)
        cases.append(pattern)

    expect("is not a directory", tmp_path / "missing")
    (tmp_path / "bare").mkdir()
    expect("is not a preset: no config.json", tmp_path / "bare")
    (out / "task.weights.h5").write_bytes(b"not hdf5")
    expect(r"task\.weights\.h5: cannot load weights")
    (out / "model.weights.h5").unlink()
    expect(r"model\.weights\.h5 are missing")
    (out / "config.json").write_text("{ garbage")
    expect(r"config\.json: not a readable JSON file")
    (out / "config.json").write_text("[1, 2]")
    expect(r"config\.json: expected a JSON object, got list")
    (out / "config.json").write_text("{}")
    expect("neither a Keras object")
    assert len(cases) == 7


def test_classifier_from_preset_fits_and_predicts_on_strings(tmp_path, vocabulary):
    pytest.importorskip("keras_hub")
    out = str(tmp_path / "pretrained")
    _randomized(BUILDERS["Encoder"]())[0].save_to_preset(out, vocabulary=vocabulary)
    clf = keras_fnet.Classifier.from_preset(out, num_classes=2)
    assert isinstance(clf.preprocessor, keras_fnet.ClassifierPreprocessor)
    texts = ["the quick brown fox", "a b c d e", "hello world", "another short line"]
    history = clf.fit(x=texts, y=np.array([0, 1, 0, 1]), batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    logits = clf.predict(texts[:2], verbose=0)
    assert logits.shape == (2, 2)
    # Saved with its preprocessor: the vocabulary comes from the tokenizer, and
    # the loaded classifier gives the same logits on the same strings.
    again_dir = str(tmp_path / "tuned")
    clf.spm_path = None
    clf.save_to_preset(again_dir)
    assert _bytes(os.path.join(again_dir, presets.VOCABULARY_FILE)) == _bytes(vocabulary)
    again = keras_fnet.from_preset(again_dir)
    assert again.preprocessor is not None
    np.testing.assert_allclose(again.predict(texts[:2], verbose=0), logits, atol=1e-5)
