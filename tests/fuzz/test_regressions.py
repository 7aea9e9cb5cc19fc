"""What the fuzz suite found, each pinned as a plain test."""

import json

import numpy as np
import pytest

from training import spec as spec_lib


@pytest.fixture(scope="module")
def classifier():
    import keras_fnet
    from keras_fnet.data.tokenizer import mock_vocabulary

    preprocessor = keras_fnet.ClassifierPreprocessor(
        keras_fnet.Tokenizer(mock_vocabulary()), 8, label_names=["neg", "pos"])
    return keras_fnet.build_classifier(
        "fnet_tiny", num_classes=2, preprocessor=preprocessor, vocabulary_size=512,
        num_layers=1, hidden_dim=8, intermediate_dim=16, num_heads=2, max_sequence_length=8)


@pytest.mark.parametrize("texts, message", [
    (["a", None], r"x\[1\] is NoneType None; every text must be a str or bytes"),
    ([None, "a"], r"x\[0\] is NoneType None"),  # was: Keras "Unrecognized data type"
    ([None], r"x\[0\] is NoneType None"),  # was: KeyError 'pop from an empty set'
    (["a", 3], r"x\[1\] is int 3"),
    ([], r"x: no texts \(an empty list\)"),  # was: KeyError 'pop from an empty set'
    (("a",), "a tuple is a text pair"),  # was: "Unbatching a tensor is only supported ..."
    ((["a", "b"], ["c"]), "the texts of a pair have 2 and 1 items"),
    (np.array([["a"]]), r"an array of shape \(1, 1\)"),
])
def test_predict_names_the_bad_text(classifier, texts, message):
    from keras_fnet.preprocessing.task import TextInputError

    with pytest.raises(TextInputError, match=message):
        classifier.predict(texts, verbose=0)


def test_predict_takes_bytes_and_empty_texts(classifier):
    logits = classifier.predict([b"\xff\xfe bytes", "", "😀𝔘"], verbose=0)
    assert logits.shape == (3, 2) and np.isfinite(logits).all()


@pytest.mark.parametrize("labels, message", [
    ([0, 5], r"y\[1\] is 5; class ids of this model are 0 to 1"),  # was: trained silently
    ([0.5, 1], r"y\[0\] is 0.5; a class id is an integer"),  # was: trained silently
    ([None, 1], r"y\[0\] is NoneType None"),
    ([True, 0], r"y\[0\] is bool True"),
    (["pos", "meh"], r"y\[1\] 'meh' is not a class name; use one of \['neg', 'pos'\]"),
    (["pos", 0], r"y\[1\] 0: labels are all class names or all class ids"),
])
def test_fit_names_the_bad_label(classifier, labels, message):
    from keras_fnet.preprocessing.task import TextInputError

    with pytest.raises(TextInputError, match=message):
        classifier.fit(["a", "b"], labels, epochs=1, verbose=0)


def test_run_spec_numbers_take_their_type():
    """The Python API and a JSON run file gave strings and floats through unconverted."""
    spec = spec_lib.RunSpec(batch_size="8", num_layers=2.0, dropout=0).validated()
    assert (spec.batch_size, spec.num_layers, spec.dropout) == (8, 2, 0.0)
    assert type(spec.batch_size) is int and type(spec.dropout) is float
    assert spec_lib.RunSpec.from_json(json.dumps({"steps": "12"})).validated().steps == 12


@pytest.mark.parametrize("name", ["steps", "batch_size", "weight_decay", "text_column"])
def test_run_spec_required_settings_need_a_value(name):
    """None for a setting with a default passed validation, then failed inside training."""
    with pytest.raises(spec_lib.SpecError, match=f"--{name.replace('_', '-')}: needs a value"):
        spec_lib.RunSpec(**{name: None}).validated()


def test_jsonl_text_with_a_line_separator(tmp_path):
    """JSON strings may hold U+2028/U+0085 unescaped; a line is what ends in a newline."""
    from keras_fnet.data.text_files import read_table

    path = tmp_path / "data.jsonl"
    rows = [{"text": "one\u2028two\x85three\x1c", "label": 1}, {"text": "b", "label": 0}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    assert read_table(str(path), ("text", "label"))["text"] == [r["text"] for r in rows]


def test_long_texts_train_the_vocabulary():
    """SentencePiece skips sentences over 4192 bytes without a word: a file of long texts got a
    vocabulary of its few short ones."""
    import sentencepiece as spm

    from keras_fnet.data.tokenizer import train_sentencepiece_from_texts

    proto = train_sentencepiece_from_texts(["abc " * 2000] * 10 + ["xyz"] * 10, None, 400,
                                           hard_vocab_limit=False)
    pieces = spm.SentencePieceProcessor(model_proto=proto)
    assert pieces.piece_to_id("▁abc") != pieces.unk_id()
