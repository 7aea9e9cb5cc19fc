"""Layers of the zoo: one mixing interface, its implementations, one block.

`MIXING_LAYERS` maps the mixing names of `EncoderConfig.mixing` to classes;
`get_mixing_layer` builds the mixing layer of one block from a config.
"""

from keras_fnet.layers.attention import AttentionMixing, PerformerMixing
from keras_fnet.layers.base import MixingLayer
from keras_fnet.layers.embeddings import Embeddings
from keras_fnet.layers.encoder_block import EncoderBlock
from keras_fnet.layers.heads import MaskedLMHead
from keras_fnet.layers.matrix import IdentityMixing, LinearMixing, RandomMixing
from keras_fnet.layers.spectral import (
    DCTMixing,
    FourierMixing,
    HadamardMixing,
    HartleyMixing,
)

MIXING_LAYERS = {
    "fourier": FourierMixing,
    "hartley": HartleyMixing,
    "dct": DCTMixing,
    "hadamard": HadamardMixing,
    "linear": LinearMixing,
    "random": RandomMixing,
    "identity": IdentityMixing,
    "attention": AttentionMixing,
    "performer": PerformerMixing,
}


def get_mixing_layer(config, index, **kwargs):
    """The mixing layer of block `index` of an `EncoderConfig`.

    Args:
        config: an `EncoderConfig`.
        index: block index (decides attention in hybrid models, and the seed
            of random matrices: `config.seed + index`).
        **kwargs: standard layer arguments (`name`, `dtype`).

    Example:

    >>> from keras_fnet import get_config
    >>> type(get_mixing_layer(get_config("fnet_hybrid_mini"), 3)).__name__
    'AttentionMixing'
    """
    name = config.layer_mixing(index)
    if name not in MIXING_LAYERS:
        raise ValueError(
            f"Unknown mixing {name!r}. Valid names: {', '.join(MIXING_LAYERS)}."
        )
    seed = config.seed + index
    options = {
        "fourier": dict(implementation=config.fourier_implementation),
        "hartley": dict(implementation=config.fourier_implementation),
        "linear": dict(max_sequence_length=config.max_sequence_length),
        "random": dict(max_sequence_length=config.max_sequence_length, seed=seed),
        "attention": dict(num_heads=config.num_heads, dropout=config.dropout),
        "performer": dict(
            num_heads=config.num_heads,
            num_random_features=config.num_random_features,
            seed=seed,
            dropout=config.dropout,
        ),
    }.get(name, {})
    return MIXING_LAYERS[name](**options, **kwargs)


__all__ = [
    "MIXING_LAYERS",
    "AttentionMixing",
    "DCTMixing",
    "Embeddings",
    "EncoderBlock",
    "FourierMixing",
    "HadamardMixing",
    "HartleyMixing",
    "IdentityMixing",
    "LinearMixing",
    "MaskedLMHead",
    "MixingLayer",
    "PerformerMixing",
    "RandomMixing",
    "get_mixing_layer",
]
