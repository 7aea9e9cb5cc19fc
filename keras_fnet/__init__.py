"""keras-fnet: FNet and its baselines for Keras 3 (TensorFlow, JAX, PyTorch).

Example:

>>> import keras_fnet
>>> encoder = keras_fnet.build_encoder("fnet_tiny")
>>> classifier = keras_fnet.build_classifier("bert_tiny", num_classes=2)
>>> mixing = keras_fnet.layers.FourierMixing()
"""

import importlib.util

from keras_fnet import layers
from keras_fnet.config import FAMILIES, PRESETS, SIZES, EncoderConfig, get_config
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

if importlib.util.find_spec("keras_hub") is not None:
    # Registers the preprocessing layers, so `keras.saving.load_model` reads a
    # model saved with one (they need the `data` extra: keras-hub, TF).
    from keras_fnet.preprocessing.classifier import ClassifierPreprocessor
    from keras_fnet.preprocessing.pretraining import PretrainingPreprocessor
    from keras_fnet.preprocessing.tokenizer import Tokenizer

__version__ = "0.1.0"

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
    "pretraining_losses",
    "layers",
]
