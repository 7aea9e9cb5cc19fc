"""Every layer of the zoo against the Keras contract (tests/contract.py)."""

import keras
import numpy as np
import pytest

from keras_fnet import layers
from tests import contract

HIDDEN = 8
MAX_LENGTH = 8


def _mixing_inputs(batch, length):
    rng = np.random.default_rng(length)
    mask = np.ones((batch, length), "int32")
    mask[-1, length // 2:] = 0
    return (rng.normal(size=(batch, length, HIDDEN)).astype("float32"),), {"padding_mask": mask}


def _hidden_shape(batch, length):
    return (batch, length, HIDDEN)


# Every registered mixing layer, with the arguments that make it small.
MIXING_ARGS = {
    "fourier": {},
    "hartley": {},
    "dct": {},
    "hadamard": {},
    "linear": dict(max_sequence_length=MAX_LENGTH),
    "random": dict(max_sequence_length=MAX_LENGTH, seed=1),
    "identity": {},
    "attention": dict(num_heads=2),
    "performer": dict(num_heads=2, num_random_features=8),
}
SPECTRAL = ("fourier", "hartley", "dct", "hadamard")


def test_every_registered_mixing_is_covered():
    assert sorted(MIXING_ARGS) == sorted(layers.MIXINGS)


def _mixing(name, dtype=None):
    return layers.MIXINGS[name](dtype=dtype, **MIXING_ARGS[name])


@pytest.mark.parametrize("name", sorted(MIXING_ARGS))
def test_mixing_layer_contract(name):
    contract.run_layer_test(lambda dtype=None: _mixing(name, dtype), _mixing_inputs, _hidden_shape)
    contract.run_precision_test(
        lambda dtype: _mixing(name, dtype),
        _mixing_inputs,
        # The fixed transforms keep their output in float32 (see spectral.py).
        output_dtype="float32" if name in SPECTRAL else None,
        float32_weights=("features",),
    )


def _block(dtype=None, norm_first=False, mixing="attention"):
    return layers.EncoderBlock(
        _mixing(mixing, dtype), intermediate_dim=16, norm_first=norm_first, dtype=dtype,
        kernel_initializer="glorot_uniform")


@pytest.mark.parametrize("norm_first", [False, True])
def test_block_contract(norm_first):
    contract.run_layer_test(lambda dtype=None: _block(dtype, norm_first), _mixing_inputs,
                            _hidden_shape)
    # Pre-LN keeps a float32 residual after a float32 (spectral) mixing.
    contract.run_precision_test(lambda dtype: _block(dtype, norm_first, "fourier"), _mixing_inputs,
                                output_dtype="float32" if norm_first else None)


def _token_inputs(batch, length):
    rng = np.random.default_rng(length)
    return (rng.integers(0, 20, (batch, length)).astype("int32"),
            (np.arange(length)[None] % 2).repeat(batch, 0).astype("int32")), {}


def _embeddings(dtype=None):
    return layers.Embeddings(20, MAX_LENGTH, 2, embedding_dim=6, hidden_dim=HIDDEN, dtype=dtype)


def _feature_inputs(batch, length):
    rng = np.random.default_rng(length)
    return (rng.normal(size=(batch, length, 5)).astype("float32"),), {}


def _feature_embeddings(dtype=None):
    return layers.FeatureEmbeddings(MAX_LENGTH, embedding_dim=6, hidden_dim=HIDDEN, dtype=dtype)


@pytest.mark.parametrize("make,inputs", [(_embeddings, _token_inputs),
                                         (_feature_embeddings, _feature_inputs)])
def test_embeddings_contract(make, inputs):
    contract.run_layer_test(make, inputs, _hidden_shape)
    contract.run_precision_test(make, inputs)


def test_masked_lm_head_contract():
    """The head's table is tied to an Embedding, so it is not saved alone: its
    config, shapes and spec here; its save/load with the Pretrainer."""
    embedding = keras.layers.Embedding(20, 6)
    embedding.build((None,))
    head = layers.MaskedLMHead(embedding, kernel_initializer="glorot_uniform")
    x = np.random.default_rng(0).normal(size=(2, 7, HIDDEN)).astype("float32")
    positions = np.array([[0, 3, 6], [1, 1, 2]], "int32")
    out = head(x, positions)
    assert tuple(out.shape) == (2, 3, 20)
    spec = head.compute_output_spec(keras.KerasTensor(x.shape),
                                    keras.KerasTensor(positions.shape, "int32"))
    assert tuple(spec.shape) == (2, 3, 20)
    config = head.get_config()
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    clone = layers.MaskedLMHead(embedding, **{k: v for k, v in config.items()})
    assert clone.get_config() == config
