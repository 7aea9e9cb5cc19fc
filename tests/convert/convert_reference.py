"""Helpers of the converter tests: sizes, inputs, reference models.

Sizes are odd on purpose (hidden 30, intermediate 46, 3 layers, vocabulary
101, 40 positions, 4 segment ids), and every bias and LayerNorm parameter is
random and non-zero, so that a swapped or transposed tensor shows.
"""

import json

import keras
import numpy as np

SIZES = dict(vocab=101, hidden=30, intermediate=46, layers=3, positions=40, types=4)
TOLERANCE = 1e-4  # Max abs difference allowed against a reference library.


def random_inputs(batch=2, length=17, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "token_ids": rng.integers(0, SIZES["vocab"], (batch, length)).astype("int32"),
        "segment_ids": rng.integers(0, SIZES["types"], (batch, length)).astype("int32"),
        "padding_mask": np.ones((batch, length), "int32"),
    }


def to_numpy(outputs):
    return {key: np.asarray(keras.ops.convert_to_numpy(value)) for key, value in outputs.items()}


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


def randomize_torch(model, seed=0):
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "LayerNorm.weight" in name:
                parameter.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            elif "embeddings" in name:
                parameter.copy_(noise)
            else:
                parameter.copy_(0.2 * noise)


def hf_config(**overrides):
    import transformers

    fields = dict(
        vocab_size=SIZES["vocab"], hidden_size=SIZES["hidden"],
        num_hidden_layers=SIZES["layers"], intermediate_size=SIZES["intermediate"],
        max_position_embeddings=SIZES["positions"], type_vocab_size=SIZES["types"],
        hidden_dropout_prob=0.1,
    )
    fields.update(overrides)
    return transformers.FNetConfig(**fields)


def hf_outputs(model, inputs):
    """Reference outputs of a transformers FNet model (eval mode) as numpy."""
    import torch

    model.eval()
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(inputs["token_ids"], dtype=torch.long),
            token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long),
            output_hidden_states=True,
            return_dict=True,
        )
    return {key: value.numpy() for key, value in out.items() if hasattr(value, "numpy")} | {
        "last_hidden_state": out.hidden_states[-1].numpy()
    }


def edit_json(path, **changes):
    with open(path) as f:
        data = json.load(f)
    data.update(changes)
    with open(path, "w") as f:
        json.dump(data, f)


# BERT: 3 heads of width 10, two segments (BERT's), and a padded second row.
BERT_SIZES = dict(SIZES, heads=3, types=2)


def bert_inputs(batch=2, length=17, seed=0):
    """Two segments (BERT's type ids 0 and 1) and a padded tail in row 1."""
    rng = np.random.default_rng(seed)
    segment_ids = np.zeros((batch, length), "int32")
    segment_ids[:, length // 2:] = 1
    padding_mask = np.ones((batch, length), "int32")
    padding_mask[1, length - 6:] = 0
    segment_ids[1, length - 6:] = 0
    return {
        "token_ids": rng.integers(0, SIZES["vocab"], (batch, length)).astype("int32"),
        "segment_ids": segment_ids,
        "padding_mask": padding_mask,
    }


def bert_config(**overrides):
    import transformers

    fields = dict(
        vocab_size=SIZES["vocab"], hidden_size=SIZES["hidden"],
        num_hidden_layers=SIZES["layers"], num_attention_heads=BERT_SIZES["heads"],
        intermediate_size=SIZES["intermediate"], max_position_embeddings=SIZES["positions"],
        type_vocab_size=BERT_SIZES["types"],
    )
    fields.update(overrides)
    return transformers.BertConfig(**fields)


def bert_outputs(model, inputs):
    """Reference outputs of a transformers BERT (eval mode), padding mask included."""
    import torch

    model.eval()
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(inputs["token_ids"], dtype=torch.long),
            token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long),
            attention_mask=torch.tensor(inputs["padding_mask"], dtype=torch.long),
            output_hidden_states=True,
            return_dict=True,
        )
    return {key: value.numpy() for key, value in out.items() if hasattr(value, "numpy")} | {
        "last_hidden_state": out.hidden_states[-1].numpy()
    }


def write_wordpiece(path, size=SIZES["vocab"]):
    """A WordPiece vocab.txt of `size` tokens, BERT's special tokens first."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"w{i}" for i in range(size - len(tokens) - 10)]
    tokens += [f"##{c}" for c in "abcdefghij"]
    with open(path, "w") as f:
        f.write("\n".join(tokens) + "\n")
    return str(path)


def randomize_keras(model, seed=1):
    """Random non-zero weights of a Keras model: LayerNorm scales near 1, tables
    of unit scale, the rest of scale 0.2."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        noise = rng.standard_normal(tuple(variable.shape)).astype("float32")
        path = variable.path
        if path.endswith("gamma"):
            value = 1.0 + 0.2 * noise
        elif "embedding" in path and "projection" not in path:
            value = noise
        else:
            value = 0.2 * noise
        variable.assign(value)
