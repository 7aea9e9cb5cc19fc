"""LRA Retrieval reader and pair packing."""

import pytest

from keras_fnet.data import retrieval


def _write(directory, rows):
    for name in retrieval.SPLIT_FILES.values():
        (directory / name).write_bytes(b"".join(rows))


def test_reads_packs_and_skips_bad_rows(tmp_path, capsys):
    rows = [
        b"1.0\ta\tb\tfirst doc\tsecond doc\n",
        b"0\tc\td\t" + b"x" * 100 + b"\tyy\n",
        b"broken row without tabs\n",
        b"7\te\tf\tg\th\n",
        b"0.0\tg\th\t\xff\xfe invalid\tok\n",
    ]
    _write(tmp_path, rows)
    stats = {}
    ds = retrieval.retrieval("train", 8, max_length=32,
                             manual_dir=str(tmp_path), shuffle=False,
                             stats=stats)
    x, y = next(iter(ds))
    assert stats == {"rows": 3, "skipped": 2}
    assert "skipped 2" in capsys.readouterr().err
    assert y.numpy().tolist() == [1, 0, 0] and y.dtype == "int32"
    ids = x["token_ids"].numpy()
    seg = x["segment_ids"].numpy()
    assert x["token_ids"].shape == (3, 32)
    first = [1] + [c + 3 for c in b"first doc"] + [2] + \
        [c + 3 for c in b"second doc"] + [2]
    assert ids[0, : len(first)].tolist() == first
    assert seg[0, : len(first)].tolist() == [0] * 11 + [1] * 11
    # Long first document truncated so the second still fits.
    assert (ids[1] == 2).sum() == 2 and ids[1, -1] == 2
    assert ids[1, -4:].tolist() == [2, ord("y") + 3, ord("y") + 3, 2]
    assert x["padding_mask"].numpy()[1].all()


def test_missing_files_and_bad_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="lra_release"):
        retrieval.retrieval("test", 4, manual_dir=str(tmp_path))
    with pytest.raises(ValueError, match="train, validation, test"):
        retrieval.retrieval("dev", 4, manual_dir=str(tmp_path))
