"""keras-fnet: FNet and its baselines for Keras 3 (TensorFlow, JAX, PyTorch).

Example:

>>> import keras_fnet
>>> encoder = keras_fnet.build_encoder("fnet_tiny")
>>> classifier = keras_fnet.build_classifier("bert_tiny", num_classes=2)
>>> mixing = keras_fnet.layers.FourierMixing()
>>> "f_net_base_en" in keras_fnet.list_presets()
True
"""

import importlib

# `convert` is imported for its readers (it registers them with the presets) and as
# `keras_fnet.convert`; `X as X` marks a deliberate re-export outside `__all__`.
from keras_fnet import convert as convert
from keras_fnet import hub, layers, plugins
from keras_fnet.config import FAMILIES, PRESETS, SIZES, EncoderConfig, get_config
from keras_fnet.hub import list_presets
from keras_fnet.models import (
    Classifier,
    Encoder,
    Pretrainer,
    build_classifier,
    build_encoder,
    build_pretrainer,
    pretraining_losses,
)
from keras_fnet.presets import from_preset
from keras_fnet.version import __version__ as __version__

# The preprocessing layers need TensorFlow and keras-hub (the `data` extra), so
# they are imported on first use; a saved preprocessor imports them itself.
_PREPROCESSING = ("ClassifierPreprocessor", "PretrainingPreprocessor", "Tokenizer")


def __getattr__(name):
    if name in _PREPROCESSING:
        return getattr(importlib.import_module("keras_fnet.preprocessing"), name)
    raise AttributeError(f"module 'keras_fnet' has no attribute {name!r}")


__all__ = [
    "FAMILIES",
    "PRESETS",
    "SIZES",
    "Classifier",
    "ClassifierPreprocessor",
    "Encoder",
    "EncoderConfig",
    "Pretrainer",
    "PretrainingPreprocessor",
    "Tokenizer",
    "build_classifier",
    "build_encoder",
    "build_pretrainer",
    "from_preset",
    "get_config",
    "hub",
    "list_presets",
    "pretraining_losses",
    "layers",
    "plugins",
]

# Families from outside the package: the modules of `KERAS_FNET_PLUGINS` and of the
# `keras_fnet.families` entry points, imported last (they import this package).
plugins.load_plugins()
