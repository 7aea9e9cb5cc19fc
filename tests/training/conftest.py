"""Fixtures of the training-script tests; helpers live in training_helpers.py."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import training_helpers  # noqa: E402,F401  (puts the repository on sys.path)


@pytest.fixture(autouse=True)
def _reset_distribution():
    yield
    import keras

    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(None)
