"""Text preprocessing as Keras layers (keras-hub tokenizer and packer).

* `Tokenizer`: SentencePiece with FNet's special tokens; the vocabulary is an
  asset saved inside `.keras` files (and as `vocabulary.spm` in presets).
* `ClassifierPreprocessor`: one text or a text pair -> `token_ids`,
  `segment_ids`, `padding_mask`; string labels -> class ids.
* `PretrainingPreprocessor`: sentence pairs -> NSP order + MLM masking.
* `PreprocessorMixin`: lets `Classifier` / `Pretrainer` carry one, so that
  `fit`/`evaluate`/`predict` take strings (mapped in `tf.data`).

The layers import TensorFlow and keras-hub (the `data` extra) when first
used; `PreprocessorMixin` needs only keras.

Example:

>>> from keras_fnet.data.tokenizer import mock_vocabulary
>>> from keras_fnet.preprocessing import ClassifierPreprocessor, Tokenizer
>>> preprocessor = ClassifierPreprocessor(Tokenizer(mock_vocabulary()), 16)
>>> features = preprocessor(tf.constant(["ab cd"]))  # doctest: +SKIP
"""

import importlib

_MODULES = {
    "Tokenizer": "tokenizer",
    "ClassifierPreprocessor": "classifier",
    "PretrainingPreprocessor": "pretraining",
    "PreprocessorMixin": "task",
}


def __getattr__(name):
    # Lazy, so that the models (which use only the mixin) import without
    # TensorFlow and keras-hub.
    if name in _MODULES:
        module = importlib.import_module(f"keras_fnet.preprocessing.{_MODULES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'keras_fnet.preprocessing' has no attribute {name!r}")


__all__ = list(_MODULES)
