"""Layers of the zoo: one mixing interface, its implementations, one block.

`MIXINGS` maps the mixing names of `EncoderConfig.mixing` to the registered
layer classes (`register_mixing`, one module of `keras_fnet.layers.mixing`
each); `get_mixing_layer` builds the mixing layer of one block from a config.
"""

from keras_fnet.layers.base import (
    MIXINGS,
    MixingLayer,
    MixingOption,
    mixing_class,
    mixing_options,
    register_mixing,
)
from keras_fnet.layers.embeddings import Embeddings, FeatureEmbeddings
from keras_fnet.layers.encoder_block import EncoderBlock
from keras_fnet.layers.heads import MaskedLMHead
from keras_fnet.layers.mixing import (
    AttentionMixing,
    DCTMixing,
    FourierMixing,
    HadamardMixing,
    HartleyMixing,
    IdentityMixing,
    LinearMixing,
    PerformerMixing,
    RandomMixing,
)


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
    return mixing_class(config.layer_mixing(index)).from_encoder_config(config, index, **kwargs)


__all__ = [
    "MIXINGS",
    "AttentionMixing",
    "DCTMixing",
    "Embeddings",
    "EncoderBlock",
    "FeatureEmbeddings",
    "FourierMixing",
    "HadamardMixing",
    "HartleyMixing",
    "IdentityMixing",
    "LinearMixing",
    "MaskedLMHead",
    "MixingLayer",
    "MixingOption",
    "PerformerMixing",
    "RandomMixing",
    "get_mixing_layer",
    "mixing_class",
    "mixing_options",
    "register_mixing",
]
