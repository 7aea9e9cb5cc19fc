"""Own files (csv/tsv/jsonl) for text classification, and their errors."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from keras_fnet.data.text_files import DataFileError, TextClassificationData

WORDS = ["good", "bad", "film", "plot", "actor", "scene", "great", "dull"]


def _rows(n, labels, seed=0):
    rng = np.random.default_rng(seed)
    return [{"text": " ".join(rng.choice(WORDS, 5)), "text_b": " ".join(rng.choice(WORDS, 3)),
             "label": labels[i % len(labels)]} for i in range(n)]


def _write(path, rows, columns=("text", "text_b", "label")):
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({c: r[c] for c in columns}) + "\n" for r in rows))
        return path
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t" if path.suffix == ".tsv" else ",")
        writer.writerow(columns)
        writer.writerows([[r[c] for c in columns] for r in rows])
    return path


@pytest.mark.parametrize("extension, labels, pair", [
    (".csv", ["pos", "neg", "meh"], False),
    (".tsv", [2, 0, 1], True),
    (".jsonl", [1, 0], True),
    (".jsonl", ["yes", "no"], False),
])
def test_files_load(tmp_path, extension, labels, pair):
    train = _write(tmp_path / f"train{extension}", _rows(40, labels))
    dev = _write(tmp_path / f"dev{extension}", _rows(6, labels[::-1], seed=1))
    data = TextClassificationData.from_files(
        str(train), str(dev), text_pair_column="text_b" if pair else None,
        vocab_size=300, work_dir=str(tmp_path / "work"))
    as_str = [str(v) for v in labels]
    expected_names = sorted(as_str, key=int) if isinstance(labels[0], int) else sorted(as_str)
    assert list(data.label_names) == expected_names
    assert data.info.num_classes == len(labels)
    assert data.vocabulary_path == str(tmp_path / "work" / "vocabulary.spm")
    assert data.info.vocabulary_size <= 300 and data.info.splits == ("train", "validation")
    x, y = next(iter(data.load("validation", batch_size=6, max_length=24)))
    rows = _rows(6, labels[::-1], seed=1)
    np.testing.assert_array_equal(y.numpy(), [expected_names.index(str(r["label"])) for r in rows])
    op = tf_text.SentencepieceTokenizer(model=open(data.vocabulary_path, "rb").read())
    for i, row in enumerate(rows):
        a = op.tokenize([row["text"]]).to_list()[0]
        want = [2] + a + [3]
        if pair:
            want += op.tokenize([row["text_b"]]).to_list()[0] + [3]
        ids = x["token_ids"].numpy()[i]
        np.testing.assert_array_equal(ids[: len(want)], want)
        assert not ids[len(want):].any()
        assert x["segment_ids"].numpy()[i].sum() == (len(want) - len(a) - 2 if pair else 0)
    # The exported preprocessor gives the same features on raw strings.
    texts = data.texts("validation")
    raw = tuple(tf.constant(t) for t in texts) if pair else tf.constant(texts)
    same = data.preprocessor(24)(raw)
    np.testing.assert_array_equal(np.asarray(same["token_ids"]), x["token_ids"].numpy())
    batches = list(data.load("train", batch_size=16, max_length=24, shuffle=True))
    assert sum(len(b[1]) for b in batches) == 40


def test_given_vocabulary_is_used(tmp_path):
    train = _write(tmp_path / "train.csv", _rows(30, ["a", "b"]))
    first = TextClassificationData.from_files(str(train), vocab_size=300,
                                              work_dir=str(tmp_path / "w"))
    second = TextClassificationData.from_files(str(train), vocabulary=first.vocabulary_path,
                                               work_dir=str(tmp_path / "other"))
    assert second.vocabulary_path == first.vocabulary_path
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("name, content, message", [
    ("train.txt", b"text,label\na,b\n", r"unknown extension '\.txt'; use \.csv, \.tsv, \.jsonl"),
    ("train.csv", b"", "has no rows"),
    ("train.csv", b"text,label\n", "has no rows"),
    ("train.csv", b"sentence,label\nhi,a\nho,b\n",
     "no column 'text'; columns found: 'sentence', 'label'"),
    ("train.tsv", b"text\tlabel\nhi\ta\nh\xe9\tb\n", r"line 3 is not valid UTF-8 \(byte 0xe9"),
    ("train.jsonl", b'{"text": "hi", "label": "a"}\n[1]\n', "line 2 is not a JSON object"),
    ("train.csv", b"text,label\nhi,a\nho,a\n", "needs at least 2 classes"),
])
def test_bad_training_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message) as error:
        TextClassificationData.from_files(str(path), work_dir=str(tmp_path / "w"))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "w").exists()  # nothing written


def test_label_only_in_validation(tmp_path):
    train = _write(tmp_path / "train.csv", _rows(10, ["pos", "neg"]))
    dev = _write(tmp_path / "dev.csv", _rows(4, ["pos", "surprise"]))
    with pytest.raises(DataFileError,
                       match=r"dev\.csv: label\(s\) 'surprise' do not occur in the training "
                             r"file .*train\.csv \(classes: neg, pos\)"):
        TextClassificationData.from_files(str(train), str(dev), work_dir=str(tmp_path / "w"))
