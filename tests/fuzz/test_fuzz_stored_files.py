"""Fuzz the readers of stored files a user hands over: a plain-text corpus, a preset directory
(ours and a Hugging Face one), a run's checkpoint. Each file is truncated, replaced with random
bytes or has bytes appended; the reader loads what was stored or names the damaged file."""

import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.fuzzing import assert_names, fuzz

SIZES = dict(vocabulary_size=512, num_layers=1, hidden_dim=16, intermediate_dim=32,
             num_heads=2, max_sequence_length=16)
DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("random"), st.binary(max_size=200)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=50)),
)


def _damage(path, damage):
    kind, value = damage
    with open(path, "rb") as f:
        data = f.read()
    data = {"truncate": lambda: data[: int(value * len(data))], "random": lambda: value,
            "append": lambda: data + value}[kind]()
    with open(path, "wb") as f:
        f.write(data)


def _copy(directory):
    target = os.path.join(tempfile.mkdtemp(prefix="fuzz"), os.path.basename(directory))
    shutil.copytree(directory, target)
    return target


# ---- Corpus --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory):
    from keras_fnet.data.tokenizer import mock_vocabulary

    path = tmp_path_factory.mktemp("vocab") / "vocabulary.spm"
    path.write_bytes(mock_vocabulary())
    return str(path)


@fuzz(30)
@given(st.lists(st.binary(max_size=120) | st.text(max_size=120).map(str.encode), min_size=1,
                max_size=3))
def test_corpus_of_random_files(vocabulary, contents):
    """Any bytes: documents that are the files' blank-line separated blocks, or one error."""
    from keras_fnet.data.corpus import CorpusPretrainingData, split_documents
    from keras_fnet.data.text_files import DataFileError

    directory = tempfile.mkdtemp(prefix="fuzz")
    for i, content in enumerate(contents):
        with open(os.path.join(directory, f"{i}.txt"), "wb") as f:
            f.write(content)
    want = [d for c in contents for d in split_documents(c.decode("utf-8", "replace"))]
    try:
        data = CorpusPretrainingData.from_paths([directory], vocabulary=vocabulary,
                                                work_dir=directory)
    except DataFileError as error:
        assert_names(error, directory)
        assert len(want) < 2
        return
    got = data.documents["train"] + data.documents["validation"]
    assert sorted(got) == sorted("\n".join(d) for d in want)
    try:
        batch = next(iter(data.load("train", 2, 16)))
    except DataFileError as error:
        assert_names(error, "two sentences")
        assert not any(len(d) > 1 for d in data.documents["train"] for d in [d.split("\n")])
        return
    assert batch[0]["token_ids"].shape == (2, 16)


# ---- Presets -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preset(tmp_path_factory, vocabulary):
    """A Classifier with its preprocessor, saved as a preset, and its outputs on a text."""
    import keras_fnet

    tokenizer = keras_fnet.Tokenizer(vocabulary)
    model = keras_fnet.build_classifier(
        "fnet_tiny", num_classes=3, preprocessor=keras_fnet.ClassifierPreprocessor(
            tokenizer, SIZES["max_sequence_length"]), **SIZES)
    directory = str(tmp_path_factory.mktemp("preset") / "preset")
    model.save_to_preset(directory)
    return directory, model.predict(["a stored text"], verbose=0)


@fuzz(25)
@given(st.sampled_from(("config.json", "metadata.json", "model.weights.h5", "task.json",
                        "task.weights.h5", os.path.join("assets", "tokenizer",
                                                        "vocabulary.spm"))), DAMAGE)
def test_damaged_preset(preset, name, damage):
    import keras_fnet
    from keras_fnet.convert.common import ConversionError
    from keras_fnet.data.tokenizer import TokenizerError
    from keras_fnet.presets import PresetError

    directory = _copy(preset[0])
    _damage(os.path.join(directory, name), damage)
    try:
        model = keras_fnet.from_preset(directory)
    except (PresetError, ConversionError, TokenizerError) as error:
        assert_names(error, os.path.basename(name))
        return
    # Loaded: then it is the stored model (metadata.json is informational).
    np.testing.assert_allclose(model.predict(["a stored text"], verbose=0), preset[1],
                               atol=1e-5)


# ---- A Hugging Face directory ---------------------------------------------------------


@pytest.fixture(scope="module")
def hf_directory(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(0)
    config = transformers.FNetConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                                     intermediate_size=32, max_position_embeddings=16,
                                     type_vocab_size=4, tpu_short_seq_length=16)
    directory = str(tmp_path_factory.mktemp("hf") / "fnet")
    transformers.FNetModel(config).eval().save_pretrained(directory)
    import keras_fnet

    ids = np.arange(8, dtype="int32")[None] % 64
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    return directory, x, _sequence(keras_fnet.from_preset(directory), x)


def _sequence(encoder, x):
    from keras import ops

    out = encoder(x)
    return ops.convert_to_numpy(out["sequence_output"] if isinstance(out, dict) else out)


@fuzz(15)
@given(st.sampled_from(("config.json", "model.safetensors")), DAMAGE)
def test_damaged_hugging_face_directory(hf_directory, name, damage):
    import keras_fnet
    from keras_fnet.convert.common import ConversionError
    from keras_fnet.presets import PresetError

    directory = _copy(hf_directory[0])
    if not os.path.exists(os.path.join(directory, name)):
        pytest.skip(f"transformers wrote no {name}")
    _damage(os.path.join(directory, name), damage)
    try:
        model = keras_fnet.from_preset(directory)
    except (PresetError, ConversionError) as error:
        assert_names(error, name)
        return
    np.testing.assert_allclose(_sequence(model, hf_directory[1]), hf_directory[2], atol=1e-5)


# ---- A run's checkpoint ----------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import keras_fnet
    from training import checkpoints
    from training.run_dir import RunDir

    model = keras_fnet.build_classifier("fnet_tiny", num_classes=2, **SIZES)
    model.optimizer.build(model.trainable_variables)
    directory = str(tmp_path_factory.mktemp("run"))
    state = {"fingerprint": "f", "history": {"loss": [1.0]}, "train_time_s": 1.0}
    with RunDir(directory, lock=False) as run:
        checkpoints.save(model, run, state)
    return os.path.join(directory, checkpoints.CHECKPOINT_NAME), state


@fuzz(25)
@given(DAMAGE)
def test_damaged_checkpoint(checkpoint, damage):
    from training import checkpoints

    path = os.path.join(tempfile.mkdtemp(prefix="fuzz"), checkpoints.CHECKPOINT_NAME)
    shutil.copy(checkpoint[0], path)
    _damage(path, damage)
    try:
        state = checkpoints.read_state(path)
    except checkpoints.CheckpointError as error:
        assert_names(error, path)
        return
    assert state == checkpoint[1]
