"""Reference checkpoints for the converter tests, written by the libraries themselves.

Built once per test session (each is a few tiny models).
"""

import os

import numpy as np
import pytest

from tests.convert.convert_reference import (
    BERT_SIZES,
    SIZES,
    bert_config,
    bert_inputs,
    bert_outputs,
    hf_config,
    hf_outputs,
    random_inputs,
    randomize_keras,
    randomize_torch,
    to_numpy,
    write_wordpiece,
)


@pytest.fixture(scope="session")
def spm_file(tmp_path_factory):
    """A tiny SentencePiece model with the special tokens FNet tokenizers need."""
    sentencepiece = pytest.importorskip("sentencepiece")
    rng = np.random.default_rng(0)
    words = ["fourier", "token", "mixing", "keras", "layer", "model", "the", "a", "of", "net"]
    lines = [" ".join(rng.choice(words, 8)) for _ in range(200)]
    folder = tmp_path_factory.mktemp("spm")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(lines))
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "tiny"), vocab_size=40,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
        bos_id=-1, eos_id=-1, pad_piece="<pad>", hard_vocab_limit=False,
        minloglevel=2,
    )
    return str(folder / "tiny.model")


@pytest.fixture(scope="session")
def hf_pretraining(tmp_path_factory, spm_file):
    """A random `FNetForPreTraining` saved with `save_pretrained`, and its outputs.

    Returns a dict: `dir`, `model` (torch), `inputs`, and the reference arrays
    `last_hidden_state`, `pooler_output`, `prediction_logits`,
    `seq_relationship_logits`.
    """
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    import shutil

    import torch

    model = transformers.FNetForPreTraining(hf_config())
    randomize_torch(model)
    folder = str(tmp_path_factory.mktemp("hf") / "fnet-pretraining")
    model.save_pretrained(folder)
    shutil.copyfile(spm_file, os.path.join(folder, "spiece.model"))
    inputs = random_inputs()
    reference = hf_outputs(model, inputs)
    with torch.no_grad():
        pooled = model.fnet(
            input_ids=torch.tensor(inputs["token_ids"], dtype=torch.long),
            token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long),
        ).pooler_output.numpy()
    reference["pooler_output"] = pooled
    return {"dir": folder, "model": model, "inputs": inputs, **reference}


@pytest.fixture(scope="session")
def keras_hub_preset(tmp_path_factory, spm_file):
    """A random keras-hub `FNetBackbone` preset (with tokenizer) and its outputs."""
    keras_hub = pytest.importorskip("keras_hub")
    backbone = keras_hub.models.FNetBackbone(
        vocabulary_size=SIZES["vocab"], num_layers=SIZES["layers"],
        hidden_dim=SIZES["hidden"], intermediate_dim=SIZES["intermediate"],
        max_sequence_length=SIZES["positions"], num_segments=SIZES["types"],
    )
    randomize_keras(backbone, seed=1)
    folder = str(tmp_path_factory.mktemp("keras_hub") / "fnet-preset")
    backbone.save_to_preset(folder)
    keras_hub.models.FNetTokenizer(proto=spm_file).save_to_preset(folder)
    inputs = random_inputs(seed=1)
    outputs = to_numpy(backbone({k: inputs[k] for k in ("token_ids", "segment_ids")}))
    return {"dir": folder, "inputs": inputs, **outputs}


@pytest.fixture(scope="session")
def wordpiece_file(tmp_path_factory):
    """A WordPiece vocab.txt of the reference vocabulary size."""
    return write_wordpiece(tmp_path_factory.mktemp("wordpiece") / "vocab.txt")


@pytest.fixture(scope="session")
def hf_bert(tmp_path_factory, wordpiece_file):
    """A random `BertForPreTraining` (exact GELU) saved with `save_pretrained`, and its outputs.

    Returns a dict: `dir`, `model` (torch), `inputs` (two segments, padding in
    row 1), and `last_hidden_state`, `pooler_output`, `prediction_logits`,
    `seq_relationship_logits`.
    """
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    import shutil

    model = transformers.BertForPreTraining(bert_config())
    randomize_torch(model, seed=5)
    folder = str(tmp_path_factory.mktemp("hf") / "bert-pretraining")
    model.save_pretrained(folder)
    shutil.copyfile(wordpiece_file, os.path.join(folder, "vocab.txt"))
    inputs = bert_inputs()
    reference = bert_outputs(model, inputs)
    reference["pooler_output"] = bert_outputs(model.bert, inputs)["pooler_output"]
    return {"dir": folder, "model": model, "inputs": inputs, **reference}


@pytest.fixture(scope="session")
def keras_hub_bert(tmp_path_factory, wordpiece_file):
    """A random keras-hub `BertBackbone` preset (with `BertTokenizer`) and its outputs."""
    keras_hub = pytest.importorskip("keras_hub")
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=SIZES["vocab"], num_layers=SIZES["layers"],
        num_heads=BERT_SIZES["heads"], hidden_dim=SIZES["hidden"],
        intermediate_dim=SIZES["intermediate"], max_sequence_length=SIZES["positions"],
    )
    randomize_keras(backbone, seed=2)
    folder = str(tmp_path_factory.mktemp("keras_hub") / "bert-preset")
    backbone.save_to_preset(folder)
    keras_hub.models.BertTokenizer(vocabulary=wordpiece_file).save_to_preset(folder)
    inputs = bert_inputs(seed=2)
    outputs = to_numpy(backbone(inputs))
    return {"dir": folder, "inputs": inputs, **outputs}
