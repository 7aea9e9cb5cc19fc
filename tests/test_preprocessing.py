"""Preprocessors and models that carry one: text in, predictions out.

Token ids are checked against tensorflow-text's SentencePiece op called
directly, packing against a numpy reference of `[CLS] a [SEP] b [SEP]`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

import keras_fnet
from keras_fnet.data.tokenizer import mock_vocabulary

SMALL = dict(vocabulary_size=512, max_sequence_length=32, hidden_dim=32,
             intermediate_dim=64, num_heads=2)
TEXTS = ["ab cd ef", "gh ij kl mn", "op qr", "st uv wx yz", "abc def", "ghi"] * 4
PAIRS = (TEXTS, TEXTS[::-1])
LABELS = ["pos", "neg", "pos", "neg", "neutral", "pos"] * 4
NAMES = ["neg", "neutral", "pos"]


@pytest.fixture(scope="module")
def tokenizer():
    return keras_fnet.Tokenizer(mock_vocabulary())


def reference_ids(text):
    op = tf_text.SentencepieceTokenizer(model=mock_vocabulary())
    return op.tokenize(tf.constant([text])).to_list()[0]


def reference_pack(a, b, length, cls=2, sep=3):
    """numpy `[CLS] a [SEP] (b [SEP])`, round-robin truncation, padded with 0."""
    a, b = list(a), list(b) if b is not None else None
    room = length - 2 - (b is not None)
    while len(a) + len(b or []) > room:  # drop one from the longer (b on ties)
        if b is not None and len(b) >= len(a):
            b.pop()
        else:
            a.pop()
    ids = [cls] + a + [sep] + ((b + [sep]) if b is not None else [])
    seg = [0] * (len(a) + 2) + [1] * (len(ids) - len(a) - 2)
    pad = length - len(ids)
    return ids + [0] * pad, seg + [0] * pad, [1] * len(ids) + [0] * pad


def test_classifier_preprocessor_matches_reference(tokenizer):
    pre = keras_fnet.ClassifierPreprocessor(tokenizer, 12, label_names=NAMES)
    long_a = "ab cd ef gh ij kl mn op qr st"
    long_b = "uv wx yz ab cd ef gh ij kl"
    texts = ["ab cd", long_a]
    x, y = pre(tf.constant(texts), tf.constant(["pos", "neg"]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(y), [2, 0])
    for i, t in enumerate(texts):
        ids, seg, mask = reference_pack(reference_ids(t), None, 12)
        np.testing.assert_array_equal(np.asarray(x["token_ids"])[i], ids)
        np.testing.assert_array_equal(np.asarray(x["segment_ids"])[i], seg)
        np.testing.assert_array_equal(np.asarray(x["padding_mask"])[i], mask)
    pairs = pre((tf.constant([long_a, "ab"]), tf.constant([long_b, "cd ef"])))
    for i, (a, b) in enumerate([(long_a, long_b), ("ab", "cd ef")]):
        ids, seg, mask = reference_pack(reference_ids(a), reference_ids(b), 12)
        np.testing.assert_array_equal(np.asarray(pairs["token_ids"])[i], ids)
        np.testing.assert_array_equal(np.asarray(pairs["segment_ids"])[i], seg)
    with pytest.raises(ValueError, match=r"\['unknown'\] not in label_names"):
        pre(tf.constant(["ab", "cd"]), tf.constant(["unknown", "pos"]))
    ds = tf.data.Dataset.from_tensor_slices((["ab"], ["unknown"])).batch(1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not in label_names"):
        next(iter(ds.map(lambda x, y: pre(x, y))))


def test_classifier_fits_predicts_and_reloads_on_strings(tokenizer, tmp_path):
    pre = keras_fnet.ClassifierPreprocessor(tokenizer, 16, label_names=NAMES)
    clf = keras_fnet.build_classifier("fnet_tiny", num_classes=3, preprocessor=pre,
                                      learning_rate=1e-3, **SMALL)
    history = clf.fit(x=TEXTS, y=LABELS, batch_size=8, epochs=2,
                      validation_data=(TEXTS, LABELS), verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) >= {"val_loss", "val_accuracy"}
    texts = TEXTS[:6]
    probs = clf.predict(texts, verbose=0)
    assert probs.shape == (6, 3)
    # The same numbers as the model on the reference's integer features.
    packed = [reference_pack(reference_ids(t), None, 16) for t in texts]
    features = {name: np.array([p[i] for p in packed], "int32")
                for i, name in enumerate(["token_ids", "segment_ids", "padding_mask"])}
    np.testing.assert_allclose(probs, clf.predict(features, verbose=0), atol=1e-5)
    names = clf.predict_labels(texts, verbose=0)
    np.testing.assert_array_equal(names, np.asarray(NAMES)[np.argmax(probs, -1)])
    # Integer labels and text pairs go through the same path.
    clf.fit(x=PAIRS, y=np.array([NAMES.index(v) for v in LABELS]), batch_size=8,
            epochs=1, verbose=0)
    assert clf.predict((texts, texts[::-1]), verbose=0).shape == (6, 3)
    loss, accuracy = clf.evaluate(TEXTS, LABELS, batch_size=8, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0

    # Saved with its vocabulary and label names. (A fresh process loading a
    # trained model.keras: tests/training/test_own_data.py.)
    path = str(tmp_path / "clf.keras")
    clf.save(path)
    expected = clf.predict(texts, verbose=0)
    keras.backend.clear_session()
    model = keras.saving.load_model(path)
    np.testing.assert_allclose(model.predict(texts, verbose=0), expected, atol=1e-5)
    assert model.preprocessor.label_names == NAMES
    assert model.preprocessor.tokenizer.proto == mock_vocabulary()
    np.testing.assert_array_equal(model.predict_labels(texts, verbose=0),
                                  np.asarray(NAMES)[np.argmax(expected, -1)])


def test_pretraining_preprocessor_masks_and_swaps(tokenizer):
    rng = np.random.default_rng(0)
    words = ["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st"]
    a = [" ".join(rng.choice(words, 30)) for _ in range(64)]
    b = [" ".join(rng.choice(words, 30)) for _ in range(64)]
    pre = keras_fnet.PretrainingPreprocessor(tokenizer, 64, max_predictions=20, seed=1)
    x, y, w = pre((tf.constant(a), tf.constant(b)))
    x = {k: np.asarray(v) for k, v in x.items()}
    nsp, labels, weights = np.asarray(y["nsp"]), np.asarray(y["mlm"]), np.asarray(w["mlm"])
    assert x["token_ids"].shape == (64, 64) and x["mask_positions"].shape == (64, 20)
    np.testing.assert_array_equal(np.asarray(w["nsp"]), np.ones(64))
    assert 16 <= nsp.sum() <= 48  # about half swapped
    for i in range(64):
        first, second = (b[i], a[i]) if nsp[i] else (a[i], b[i])
        ids, seg, mask = reference_pack(reference_ids(first), reference_ids(second), 64)
        ids = np.array(ids)
        np.testing.assert_array_equal(x["segment_ids"][i], seg)
        np.testing.assert_array_equal(x["padding_mask"][i], mask)
        real = weights[i] == 1
        positions = x["mask_positions"][i][real]
        np.testing.assert_array_equal(labels[i][real], ids[positions])
        unmasked = np.setdiff1d(np.arange(64), positions)
        np.testing.assert_array_equal(x["token_ids"][i][unmasked], ids[unmasked])
        assert not np.isin(ids[positions], [0, 2, 3, 4]).any()
        selectable = int(np.sum(~np.isin(ids, [0, 2, 3, 4])))
        assert real.sum() == min(20, max(1, round(0.15 * selectable)))
    chosen = weights == 1
    got = x["token_ids"][np.arange(64)[:, None], x["mask_positions"]][chosen]
    want = labels[chosen]
    mask_rate = np.mean(got == 4)
    kept_rate = np.mean(got == want)
    assert abs(mask_rate - 0.8) < 0.05 and abs(kept_rate - 0.1) < 0.04
    assert abs(1 - mask_rate - kept_rate - 0.1) < 0.04


def test_pretrainer_fits_on_text_pairs(tokenizer):
    pre = keras_fnet.PretrainingPreprocessor(tokenizer, 16, max_predictions=4)
    model = keras_fnet.build_pretrainer("fnet_tiny", preprocessor=pre, **SMALL)
    history = model.fit(x=PAIRS, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert set(history.history) >= {"mlm_loss", "nsp_loss"}
    assert model.get_config()["preprocessor"]["config"]["max_predictions"] == 4
