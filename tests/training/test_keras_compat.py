"""The private Keras internals of training/keras_compat.py: fail loudly when Keras changes them."""

import keras
import pytest

from training import keras_compat


def test_the_private_apis_we_patch_are_unchanged():
    keras_compat.check()  # Raises, naming each one, if a Keras upgrade moved or changed them.


def test_keras_version_was_checked():
    assert keras_compat.version_tested(), (
        f"Keras {keras.__version__} is not in keras_compat.TESTED {keras_compat.TESTED}: run the "
        "distributed tests (tests/training/test_distributed.py) on it, then add it.")


def test_check_names_what_changed(monkeypatch):
    from keras.src.backend.tensorflow import trainer as tf_trainer

    monkeypatch.setattr(tf_trainer, "reduce_per_replica", lambda values, strategy: values)
    with pytest.raises(keras_compat.KerasCompatError, match="reduce_per_replica"):
        keras_compat.check()
