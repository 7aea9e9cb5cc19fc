"""Own-corpus pretraining data: documents, held-out split, MLM + NSP batches."""

import numpy as np
import pytest

from keras_fnet.data.corpus import CorpusPretrainingData, corpus_files, split_documents

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def _document(rng, index):
    sentences = [" ".join(rng.choice(WORDS, rng.integers(4, 10))) + "." for _ in range(4)]
    # Wrapped lines inside a document; sentences end mid-line.
    return f"doc{index} " + " ".join(sentences[:2]) + "\n" + " ".join(sentences[2:])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    (root / "books" / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    docs = [_document(rng, i) for i in range(40)]
    (root / "books" / "a.txt").write_text("\n\n".join(docs[:20]))
    (root / "books" / "sub" / "b.md").write_bytes(
        "\n  \n".join(docs[20:39]).encode() + b"\n\nbad \xff byte.")
    (root / "books" / ".hidden").write_text("never read")
    (root / "single.txt").write_text(docs[39])
    return root


def test_documents_and_sentences():
    docs = split_documents("One two. Three four!\nFive six?\n\n\n  \nSeven eight\nnine.")
    assert docs == [["One two.", "Three four!", "Five six?"], ["Seven eight nine."]]


def test_corpus_splits_and_batches(corpus, tmp_path):
    files = corpus_files([str(corpus / "books"), str(corpus / "single.txt")])
    assert [f.rsplit("/", 1)[-1] for f in files] == ["a.txt", "b.md", "single.txt"]
    data = CorpusPretrainingData.from_paths(
        [str(corpus / "books"), str(corpus / "single.txt")], vocab_size=400,
        work_dir=str(tmp_path / "w"), validation_fraction=0.1, seed=3)
    assert data.stats["files"] == 3 and data.stats["files_with_invalid_utf8"] == 1
    assert data.stats["documents"] == {"validation": 4, "train": 37}
    train_ids = {d.split(" ", 1)[0] for d in data.documents["train"]}
    valid_ids = {d.split(" ", 1)[0] for d in data.documents["validation"]}
    assert not train_ids & valid_ids and len(train_ids | valid_ids) == 41
    assert all(len(d.split("\n")) in (1, 4) for d in data.documents["train"])
    info = data.info
    assert info.mask_id == 4 and info.vocabulary_size <= 400

    stats = {}
    x, y, w = next(iter(data.load("train", batch_size=32, max_length=48, max_predictions=12,
                                  stats=stats)))
    ids, seg, mask = (x[k].numpy() for k in ("token_ids", "segment_ids", "padding_mask"))
    positions, labels, weights = x["mask_positions"].numpy(), y["mlm"].numpy(), w["mlm"].numpy()
    assert ids.shape == (32, 48) and positions.shape == labels.shape == (32, 12)
    assert set(np.unique(y["nsp"].numpy())) <= {0, 1}
    assert (ids[:, 0] == 2).all() and ((ids == 3).sum(1) == 2).all()  # [CLS] a [SEP] b [SEP]
    np.testing.assert_array_equal(mask, (ids != 0).astype(int) | (np.arange(48) == 0))
    rows = np.arange(32)[:, None]
    original = ids.copy()
    original[rows.repeat(12, 1)[weights == 1], positions[weights == 1]] = labels[weights == 1]
    selectable = (~np.isin(original, [0, 2, 3, 4])).sum(1)
    np.testing.assert_array_equal(weights.sum(1),
                                  np.minimum(12, np.maximum(1, np.round(0.15 * selectable))))
    got = ids[rows, positions][weights == 1]
    assert 0.6 < np.mean(got == 4) < 0.95  # 80% [MASK]
    assert ((seg == 1) & (mask == 0)).sum() == 0
    valid = next(iter(data.load("validation", batch_size=2, max_length=48)))
    assert valid[0]["token_ids"].shape == (2, 48)
    with pytest.raises(ValueError, match="Unknown split 'test'"):
        data.load("test", 2, 48)


def test_corpus_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        CorpusPretrainingData.from_paths([str(tmp_path / "nope")], work_dir=str(tmp_path))
    (tmp_path / "one.txt").write_text("Just one document. Two sentences.")
    with pytest.raises(ValueError, match="has 1 document"):
        CorpusPretrainingData.from_paths([str(tmp_path / "one.txt")], work_dir=str(tmp_path))


def test_corpus_validation_paths(corpus, tmp_path):
    """Given held-out files, those are the validation split for every seed."""
    kwargs = dict(validation_paths=[str(corpus / "single.txt")], vocab_size=400,
                  work_dir=str(tmp_path / "w"))
    first = CorpusPretrainingData.from_paths([str(corpus / "books")], seed=0, **kwargs)
    other = CorpusPretrainingData.from_paths([str(corpus / "books")], seed=5, **kwargs)
    assert first.stats["documents"] == {"train": 40, "validation": 1}
    assert first.documents == other.documents
    assert first.documents["validation"][0].startswith("doc39 ")
    assert not any(d.startswith("doc39 ") for d in first.documents["train"])
    x, _, _ = next(iter(first.load("validation", batch_size=1, max_length=48)))
    assert x["mask_positions"].shape == (1, 8)  # BERT's 80 per 512 positions, at length 48.
    (tmp_path / "single.txt").write_text("One sentence only\n\nand another one")
    one_sentence = CorpusPretrainingData.from_paths(
        [str(tmp_path / "single.txt")], work_dir=str(tmp_path), vocabulary=first.vocabulary_path)
    with pytest.raises(ValueError, match="two sentences or more"):
        one_sentence.load("train", 2, 16)  # Would repeat an empty pass forever.
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="empty.txt.*no documents"):
        CorpusPretrainingData.from_paths([str(corpus / "books")], work_dir=str(tmp_path),
                                         validation_paths=[str(tmp_path / "empty.txt")])
