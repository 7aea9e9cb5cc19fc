"""SentencePiece training with FNet specials, round trip, bytes."""

import numpy as np
import pytest
import tensorflow as tf

from keras_fnet.data import tokenizer as tk


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    lines = tk._mock_corpus(1500, seed=1)
    with open(path, "wb") as f:
        for i, line in enumerate(lines):
            f.write(line.encode() + b"\n")
            if i % 100 == 0:
                f.write(b"\n")  # empty line
                f.write(b"bad \xff\xfe utf8\n")  # invalid line
    return path, lines


def test_train_and_round_trip(corpus, tmp_path, capsys):
    path, lines = corpus
    model = tk.train_sentencepiece([str(path)], str(tmp_path / "spm"),
                                   vocab_size=400)
    err = capsys.readouterr().err
    assert "1500 lines used, 15 empty and 15 invalid UTF-8" in err
    tok = tk.load_tokenizer(model)
    ids = tk.special_ids(tok)
    assert ids == {"pad": 0, "cls": 2, "sep": 3, "mask": 4}
    assert tok.vocabulary_size() == 400
    text = lines[:20] + ["abc xyz hello world"]
    tokens = tok(tf.constant(text))
    back = tok.detokenize(tokens)
    decoded = [t.decode() if isinstance(t, bytes) else t
               for t in np.asarray(back).tolist()]
    assert decoded == text
    # Special tokens are control symbols: never produced from text.
    if isinstance(tokens, tf.RaggedTensor):
        flat = tokens.flat_values.numpy()
    else:  # keras-hub's python path returns lists outside tf.data
        flat = np.concatenate([np.asarray(t) for t in tokens])
    assert not np.isin(flat, [0, 2, 3, 4]).any()


def test_train_in_memory_and_cli(corpus, tmp_path):
    path, _ = corpus
    proto = tk.train_sentencepiece([str(path)], None, vocab_size=400,
                                   verbose=False)
    assert isinstance(proto, bytes)
    assert tk.load_tokenizer(proto).vocabulary_size() == 400
    tk.main(["--input", str(path), "--model-prefix",
             str(tmp_path / "cli" / "v"), "--vocab-size", "400"])
    assert (tmp_path / "cli" / "v.model").exists()


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        tk.train_sentencepiece([str(tmp_path / "nope.txt")])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="No usable"):
        tk.train_sentencepiece([str(empty)], verbose=False)
    with pytest.raises(FileNotFoundError, match="f_net_base_en"):
        tk.load_tokenizer(str(tmp_path / "missing.model"))


def test_byte_ids():
    ids = tk.byte_ids(tf.constant(b"hi\xff")).numpy().tolist()
    assert ids == [ord("h") + 3, ord("i") + 3, 255 + 3]
