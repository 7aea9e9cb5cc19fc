"""NSP example building and MLM masking statistics."""

import numpy as np
import pytest
import tensorflow as tf

from keras_fnet.data import pretraining
from keras_fnet.data import tokenizer as tk

PAD, CLS, SEP, MASK = 0, 2, 3, 4
SPECIAL = [PAD, CLS, SEP, MASK]
VOCAB = 1000


def _random_batch(rng, batch, length):
    """Packed sequences [CLS] a [SEP] b [SEP] pad... with random lengths."""
    ids = np.zeros((batch, length), np.int32)
    for i in range(batch):
        n = rng.integers(10, length - 3)
        cut = rng.integers(1, n)
        ids[i, 0] = CLS
        ids[i, 1: n + 1] = rng.integers(5, VOCAB, n)
        ids[i, cut + 1] = SEP
        ids[i, n + 1] = SEP
    return ids


def test_mlm_statistics_on_thousands_of_sequences():
    rng = np.random.default_rng(0)
    ids = _random_batch(rng, 4000, 128)
    masked, pos, labels, weights = pretraining.mask_tokens(
        ids, np.random.default_rng(1), SPECIAL, VOCAB, MASK,
        max_predictions=20)
    assert pos.shape == labels.shape == weights.shape == (4000, 20)
    assert masked.dtype == pos.dtype == labels.dtype == np.int32
    assert weights.dtype == np.float32
    real = weights.astype(bool)
    rows = np.nonzero(real)[0]
    sel = pos[real]
    # Labels are the original tokens; never special.
    assert np.array_equal(labels[real], ids[rows, sel])
    assert not np.isin(labels[real], SPECIAL).any()
    # Specials are never changed; unselected tokens are never changed.
    changed = masked != ids
    selected = np.zeros_like(ids, bool)
    selected[rows, sel] = True
    assert not (changed & ~selected).any()
    assert np.array_equal(masked[np.isin(ids, SPECIAL)],
                          ids[np.isin(ids, SPECIAL)])
    # Positions: unique, ascending per row, padding slots are 0 with label 0.
    for r in range(50):
        p = pos[r][real[r]]
        assert np.all(np.diff(p) > 0)
    assert (pos[~real] == 0).all() and (labels[~real] == 0).all()
    # Selection rate: 15% of the selectable tokens (rounded, capped at 20).
    selectable = (~np.isin(ids, SPECIAL)).sum(1)
    expected = np.minimum(20, np.maximum(1, np.round(selectable * 0.15)))
    assert np.array_equal(real.sum(1), expected)
    uncapped = expected < 20
    rate = real.sum(1)[uncapped].sum() / selectable[uncapped].sum()
    assert rate == pytest.approx(0.15, abs=0.01)
    # 80 / 10 / 10.
    new = masked[rows, sel]
    n = len(new)
    frac_mask = np.mean(new == MASK)
    frac_same = np.mean(new == labels[real])
    frac_random = 1 - frac_mask - frac_same
    tol = 4 * np.sqrt(0.1 * 0.9 / n)
    assert frac_mask == pytest.approx(0.8, abs=4 * np.sqrt(0.16 / n))
    # A random token equals the original with probability ~1/VOCAB.
    assert frac_same == pytest.approx(0.1 + 0.1 / VOCAB, abs=tol)
    assert frac_random == pytest.approx(0.1, abs=tol)
    # Random replacements are never special tokens.
    rand = (new != MASK) & (new != labels[real])
    assert not np.isin(new[rand], SPECIAL).any()
    assert n > 30000


def test_mlm_deterministic_and_short_rows():
    ids = np.array([[CLS, SEP, PAD, PAD], [CLS, 7, SEP, PAD]])
    a = pretraining.mask_tokens(ids, np.random.default_rng(3), SPECIAL, 20,
                                MASK, max_predictions=3)
    b = pretraining.mask_tokens(ids, np.random.default_rng(3), SPECIAL, 20,
                                MASK, max_predictions=3)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    assert a[3].tolist() == [[0, 0, 0], [1, 0, 0]]
    assert a[1][1, 0] == 1 and a[2][1, 0] == 7
    with pytest.raises(ValueError):
        pretraining.mask_tokens(ids, np.random.default_rng(0), SPECIAL, 20,
                                MASK, mask_token_rate=0.9,
                                random_token_rate=0.2)


def test_nsp_examples_structure_and_swap_rate():
    rng = np.random.default_rng(0)
    stats = {}
    swapped = 0
    total = 0
    for _ in range(400):
        lines = [np.arange(10, 10 + rng.integers(1, 12)) + 100 * i
                 for i in range(rng.integers(2, 8))]
        ids, seg, nsp = pretraining.build_nsp_examples(
            lines, 32, rng, CLS, SEP, PAD, stats)
        for t, s, label in zip(ids, seg, nsp):
            n = int((t != PAD).sum())
            assert t[0] == CLS and t[n - 1] == SEP
            assert (t == SEP).sum() == 2
            first_sep = int(np.argmax(t == SEP))
            assert (s[: first_sep + 1] == 0).all()
            assert (s[first_sep + 1: n] == 1).all() and (s[n:] == 0).all()
            # Lines keep their order inside each segment; the two segments
            # are in document order iff label == 0.
            a = t[1:first_sep] // 100
            b = t[first_sep + 1: n - 1] // 100
            assert np.all(np.diff(a) >= 0) and np.all(np.diff(b) >= 0)
            assert (a.max() < b.min()) == (label == 0)
        swapped += int(nsp.sum())
        total += len(nsp)
    assert stats["documents"] == 400 and stats["examples"] == total
    assert swapped / total == pytest.approx(0.5, abs=0.06)


def test_nsp_truncate_pairing_cuts_long_lines_and_splits_one_line():
    rng = np.random.default_rng(0)
    stats = {}
    kw = dict(stats=stats, pairing="truncate")
    long_lines = [np.full(100, 7), np.full(100, 8), np.full(3, 9)]
    ids, _, _ = pretraining.build_nsp_examples(long_lines, 32, rng, CLS, SEP,
                                               **kw)
    assert stats["truncated_lines"] == 2 and stats["skipped_lines"] == 0
    assert ids.shape[1] == 32 and len(ids) >= 1
    ids, _, nsp = pretraining.build_nsp_examples([np.array([5])], 32, rng,
                                                 CLS, SEP, **kw)
    assert ids.shape == (0, 32) and stats["short_documents"] == 1
    ids, _, _ = pretraining.build_nsp_examples(
        [np.array([5, 6, 7, 8]), np.array([], np.int32)], 32, rng, CLS, SEP,
        **kw)
    assert len(ids) == 1 and (ids[0] == SEP).sum() == 2


def _official_groups(lengths, room):
    """Line groups of the official f_net `_c4_data_unbatched` loop, transcribed
    independently (line indices; the grouping does not depend on randomness)."""
    groups, j = [], 0
    while j < len(lengths) - 1:
        if lengths[j] + lengths[j + 1] > room:
            j += 1
            continue
        total, k = 0, j
        for k in range(j, len(lengths)):
            total += lengths[k]
            if total > room:
                k -= 1
                break
        groups.append(set(range(j, k + 1)))
        j = k + 1
    return groups


def test_nsp_official_pairing_matches_the_official_loop():
    rng = np.random.default_rng(7)
    stats = {}
    max_length, checked = 24, 0
    for _ in range(300):
        lengths = rng.integers(1, 26, rng.integers(1, 7))
        lines = [np.full(n, 10 + i) for i, n in enumerate(lengths)]  # line i: token 10 + i
        ids, _, _ = pretraining.build_nsp_examples(lines, max_length, rng, CLS, SEP, PAD,
                                                   stats)
        got = [set(np.unique(t[t >= 10]) - 10) for t in ids]
        assert sorted(map(sorted, got)) == sorted(map(sorted, _official_groups(lengths, 21)))
        # Whole lines only: nothing is ever cut.
        for t in ids:
            values, counts = np.unique(t[t >= 10], return_counts=True)
            assert all(counts == lengths[values - 10])
        checked += len(ids)
    assert checked > 100 and stats["truncated_lines"] == 0 and stats["skipped_lines"] > 0
    # A one-line document gives nothing, however long.
    ids, _, _ = pretraining.build_nsp_examples([np.arange(5, 15)], 32, rng, CLS, SEP,
                                               stats=stats)
    assert ids.shape == (0, 32)
    with pytest.raises(ValueError, match="pairing must be one of"):
        pretraining.build_nsp_examples([np.arange(5, 9)], 32, rng, CLS, SEP,
                                       pairing="cut")


def test_pipeline_with_bad_input():
    tok = tk.load_tokenizer(tk.mock_vocabulary())
    docs = [
        "alpha beta gamma\n\nmore words here\nand another line",
        "one single line of text only",
        "",
        b"bad \xff\xfe bytes\nsecond line ok",
        " ".join(["word"] * 400) + "\nshort tail",
    ] * 8
    stats = {}
    ds = pretraining.pretraining_dataset(
        tf.data.Dataset.from_tensor_slices(docs), tok, batch_size=4,
        max_length=32, max_predictions=6, seed=0, stats=stats,
        pairing="truncate")
    batches = list(ds)
    assert batches
    x, y, w = batches[0]
    assert x["token_ids"].shape == (4, 32)
    assert x["mask_positions"].shape == (4, 6)
    assert y["mlm"].dtype == "int32" and y["nsp"].dtype == "int32"
    assert w["mlm"].dtype == "float32"
    # Keras wants a sample weight per output, so Pretrainer.fit takes the batches as they are.
    assert w["nsp"].dtype == "float32" and (w["nsp"].numpy() == 1).all()
    assert w["nsp"].shape == y["nsp"].shape
    # One blank line in the first document, the empty document is one more.
    assert stats["empty_lines"] == 16 and stats["short_documents"] == 8
    assert stats["truncated_lines"] >= 8
    # Same seed, same batches.
    again = list(pretraining.pretraining_dataset(
        tf.data.Dataset.from_tensor_slices(docs), tok, batch_size=4,
        max_length=32, max_predictions=6, seed=0, pairing="truncate"))
    assert np.array_equal(batches[-1][0]["token_ids"],
                          again[-1][0]["token_ids"])


def test_pipeline_default_is_the_official_pairing():
    tok = tk.load_tokenizer(tk.mock_vocabulary())
    docs = ["alpha beta\ngamma delta", "one single line only",
            " ".join(["word"] * 400) + "\nshort tail"] * 4
    stats = {}
    batches = list(pretraining.pretraining_dataset(
        tf.data.Dataset.from_tensor_slices(docs), tok, batch_size=2,
        max_length=32, max_predictions=4, seed=0, stats=stats))
    # Only the first document of each triple gives a pair; the one-line one
    # is dropped and the over-long line is skipped, not cut.
    assert sum(len(b[1]["nsp"]) for b in batches) == 4
    assert stats["short_documents"] == 4 and stats["skipped_lines"] == 4
    assert stats["truncated_lines"] == 0
