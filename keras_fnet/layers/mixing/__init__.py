"""The token-mixing layers of the zoo, one module per kind of mixing.

Each module registers its layers with `register_mixing` (name, options) when
it is imported; the order of the imports below is the order of `MIXINGS`.
"""

# Registration order is the order of `MIXINGS` (and of its error messages).
from keras_fnet.layers.mixing.fourier import FourierMixing, HartleyMixing  # isort: skip
from keras_fnet.layers.mixing.dct import DCTMixing, HadamardMixing  # isort: skip
from keras_fnet.layers.mixing.attention import AttentionMixing  # isort: skip
from keras_fnet.layers.mixing.performer import PerformerMixing  # isort: skip
from keras_fnet.layers.mixing.matrix import LinearMixing, RandomMixing  # isort: skip
from keras_fnet.layers.mixing.identity import IdentityMixing  # isort: skip

__all__ = [
    "AttentionMixing",
    "DCTMixing",
    "FourierMixing",
    "HadamardMixing",
    "HartleyMixing",
    "IdentityMixing",
    "LinearMixing",
    "PerformerMixing",
    "RandomMixing",
]
