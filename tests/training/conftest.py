"""Fixtures of the training-script tests; helpers live in training_helpers.py."""

import pytest


@pytest.fixture(autouse=True)
def _reset_distribution():
    yield
    import keras

    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(None)
