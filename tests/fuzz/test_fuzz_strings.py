"""Fuzz `fit`/`predict` on strings: a Classifier with its preprocessor, given texts that are
empty, None, bytes, very long, non-BMP or not texts at all, and labels of any type."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.fuzzing import assert_names, fuzz

LENGTH = 16
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(min_codepoint=0x10000), max_size=10),  # non-BMP only
    st.binary(max_size=30),  # bytes, invalid UTF-8 included
    st.sampled_from(["", " ", "\0", "great " * 5000, "[MASK] [CLS] <pad>"]),
)
ITEM = TEXT | st.none() | st.integers() | st.floats() | st.lists(st.text(max_size=3),
                                                                  max_size=2)


@pytest.fixture(scope="module")
def classifier():
    import keras_fnet
    from keras_fnet.data.tokenizer import mock_vocabulary

    preprocessor = keras_fnet.ClassifierPreprocessor(
        keras_fnet.Tokenizer(mock_vocabulary()), LENGTH, label_names=["neg", "pos"])
    return keras_fnet.build_classifier(
        "fnet_tiny", num_classes=2, preprocessor=preprocessor, vocabulary_size=512,
        num_layers=1, hidden_dim=16, intermediate_dim=32, num_heads=2,
        max_sequence_length=LENGTH)


def _is_text(value):
    return isinstance(value, (str, bytes))


@fuzz(25)
@given(st.lists(ITEM, max_size=5))
def test_predict(classifier, texts):
    """Logits for every text (the same whatever its neighbours), or an error naming the item."""
    from keras_fnet.preprocessing.task import TextInputError

    try:
        logits = classifier.predict(texts, verbose=0)
    except TextInputError as error:
        bad = [i for i, t in enumerate(texts) if not _is_text(t)]
        assert_names(error, f"x[{bad[0]}]" if bad else "no texts")
        return
    assert all(map(_is_text, texts)) and logits.shape == (len(texts), 2)
    assert np.isfinite(logits).all()
    np.testing.assert_allclose(classifier.predict(texts[::-1], verbose=0)[::-1], logits,
                               atol=1e-5)


LABEL = (st.sampled_from(["pos", "neg", "other", b"pos"]) | st.integers(-1, 2) | st.floats()
         | st.none() | st.booleans())


@fuzz(10)
@given(st.lists(st.tuples(TEXT, LABEL), min_size=1, max_size=4))
def test_fit(classifier, examples):
    """A finite loss, or an error naming the first label that is no class of the model."""
    from keras_fnet.preprocessing.task import TextInputError

    texts, labels = [t for t, _ in examples], [y for _, y in examples]

    def valid(y):
        if isinstance(y, (str, bytes)):
            return (y.decode() if isinstance(y, bytes) else y) in ("pos", "neg")
        return not isinstance(y, bool) and isinstance(y, (int, float)) and y in (0, 1)

    try:
        history = classifier.fit(texts, labels, epochs=1, verbose=0)
    except TextInputError as error:
        bad = [i for i, y in enumerate(labels) if not valid(y)]
        names = [isinstance(y, (str, bytes)) for y in labels]
        if not bad:  # Class names mixed with class ids: the first of the other kind.
            bad = [names.index(not names[0])]
        assert_names(error, f"y[{bad[0]}]")
        return
    assert all(map(valid, labels))
    assert np.isfinite(history.history["loss"]).all()
