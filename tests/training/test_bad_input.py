"""Bad own data through the training command: each case ends in one `error:` line (exit 2)
that names the file, line or flag and what to do, before any training step."""

import csv

import pytest

from tests.training.training_helpers import ARCH, cli_error

RUN = ARCH + ["--task", "text_classification", "--steps", "2", "--eval-every", "0",
              "--checkpoint-every", "0", "--verbose", "0", "--max-length", "32"]
if __import__("keras").backend.backend() == "tensorflow":
    RUN += ["--strategy", "default"]
WORDS = "the movie was great awful dull lovely boring superb".split()


def _csv(path, rows, columns=("text", "label")):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)
    return str(path)


def _rows(n):
    return [(" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(6)), ("pos", "neg")[i % 2])
            for i in range(n)]


@pytest.fixture
def good(tmp_path):
    return _csv(tmp_path / "good.csv", _rows(40))


def _error(capsys, tmp_path, *flags):
    err = cli_error(RUN + ["--output-dir", tmp_path / "run"] + [str(f) for f in flags], capsys)
    assert not (tmp_path / "run" / "model.keras").exists()
    return err


def test_a_one_megabyte_field_is_read(tmp_path, good):
    """No field-size limit: a long text is one example like any other."""
    from keras_fnet.data.text_files import read_table

    rows = _rows(10)
    rows[3] = ("great " * 200_000, "pos")
    table = read_table(_csv(tmp_path / "big.csv", rows), ("text", "label"))
    assert len(table["text"]) == 10 and len(table["text"][3]) == 1_200_000


def test_a_quote_left_open_names_its_line(tmp_path, good, capsys):
    path = tmp_path / "open.csv"
    path.write_text('text,label\ngreat movie,pos\n"awful, dull,neg\nlovely,pos\n')
    err = _error(capsys, tmp_path, "--train-file", path, "--validation-file", good)
    assert f"{path}: line 3: unexpected end of data" in err and "quoting" in err


def test_every_text_blank(tmp_path, good, capsys):
    blank = _csv(tmp_path / "blank.csv", [("  ", ("pos", "neg")[i % 2]) for i in range(20)])
    err = _error(capsys, tmp_path, "--train-file", blank, "--validation-file", good)
    assert f"{blank}: every text in 'text' is blank (20 rows)" in err


def test_some_texts_blank_are_counted(tmp_path, good):
    from keras_fnet.data.text_files import TextClassificationData

    rows = _rows(30)
    rows[4] = rows[9] = ("", "pos")
    path = _csv(tmp_path / "some.csv", rows)
    with pytest.warns(UserWarning, match=r"some\.csv: 2 of 30 texts in 'text' are blank "
                                         r"\(the first on line 6\)"):
        data = TextClassificationData.from_files(path, vocab_size=400, work_dir=tmp_path / "w")
    assert data.texts("train")[4] == ""


def test_vocabulary_size_below_the_minimum(tmp_path, good, capsys):
    err = _error(capsys, tmp_path, "--train-file", good, "--validation-file", good,
                 "--vocab-size", "50")
    # 261 = <pad>, <unk>, [CLS], [SEP], [MASK] and 256 byte pieces; one piece per character
    # of the file (its letters and the word boundary).
    chars = len(set("".join(t for t, _ in _rows(40)).replace(" ", ""))) + 1
    assert (f"{good}: vocabulary size 50 is below the {261 + chars} pieces these texts need "
            f"(261 special and byte pieces + {chars} characters); use a size of at least "
            f"{261 + chars} (--vocab-size") in err
    from keras_fnet.data.text_files import TextClassificationData

    data = TextClassificationData.from_files(good, vocab_size=261 + chars,
                                             work_dir=tmp_path / "w")
    assert data.info.vocabulary_size <= 261 + chars


def test_corrupt_vocabulary_file(tmp_path, good, capsys):
    corrupt = tmp_path / "corrupt.spm"
    corrupt.write_bytes(b"not a SentencePiece model " * 10)
    err = _error(capsys, tmp_path, "--train-file", good, "--validation-file", good,
                 "--vocabulary", corrupt)
    assert f"{corrupt}: not a SentencePiece model (260 bytes that do not parse)" in err


def test_corrupt_vocabulary_in_tokenizer(tmp_path):
    """The layer itself checks what it is given (a preset's vocabulary.spm, a path, bytes)."""
    from keras_fnet.data.tokenizer import TokenizerError
    from keras_fnet.preprocessing import Tokenizer

    corrupt = tmp_path / "vocabulary.spm"
    corrupt.write_bytes(b"\x0a\x05trunc")
    with pytest.raises(TokenizerError, match="vocabulary.spm: not a SentencePiece model"):
        Tokenizer(str(corrupt))
    with pytest.raises(TokenizerError, match="the vocabulary: not a SentencePiece model"):
        Tokenizer(b"")


def test_the_same_column_as_text_and_pair(tmp_path, capsys):
    path = _csv(tmp_path / "pair.csv", [(t, t[:10], y) for t, y in _rows(40)],
                ("text", "text_b", "label"))
    err = _error(capsys, tmp_path, "--train-file", path, "--validation-file", path,
                 "--text-pair-column", "text")
    assert f"{path}: the text column 'text', text pair column 'text', label column " \
           "'label' must be different columns" in err


def test_pair_rows_with_missing_or_extra_fields(tmp_path, capsys):
    good = _csv(tmp_path / "pair.csv", [(t, t[:10], y) for t, y in _rows(40)],
                ("text", "text_b", "label"))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("text,text_b,label\ngreat,movie,pos\ndull,film,neg,extra\n")
    err = _error(capsys, tmp_path, "--train-file", ragged, "--validation-file", good,
                 "--text-pair-column", "text_b")
    assert f"{ragged}: line 3 has 4 fields but the header has 3; quote a text" in err
    ragged.write_text("text,text_b,label\ngreat,movie,pos\ndull,neg\n")
    err = _error(capsys, tmp_path, "--train-file", ragged, "--validation-file", good,
                 "--text-pair-column", "text_b")
    assert f"{ragged}: line 3 has 2 fields but the header has 3" in err


def test_batch_larger_than_memory(tmp_path, good, capsys):
    err = _error(capsys, tmp_path, "--train-file", good, "--validation-file", good,
                 "--vocab-size", "400", "--batch-size", "1000000000")
    assert err.startswith("error: --batch-size 1000000000: one layer's activations at "
                          "--max-length 32 and width 32 alone take 3,815 GiB")
    assert "lower --batch-size" in err


def test_batch_larger_than_the_training_file(tmp_path, good, capsys):
    err = _error(capsys, tmp_path, "--train-file", good, "--validation-file", good,
                 "--vocab-size", "400", "--batch-size", "41")
    assert f"{good}: a batch of 41 is larger than its 40 examples; use a batch size " \
           "(--batch-size) of at most 40" in err
