"""ListOps generator, files and pipeline (labels checked by an independent
recursive evaluator written here)."""


import numpy as np
import pytest

from keras_fnet.data import listops


def _reference_value(tokens):
    """Evaluate LRA-format tokens by recursive descent (independent of the
    module's stack evaluator): strip parentheses, then parse
    `[OP arg arg ... ]` recursively."""
    toks = [t for t in tokens if t not in ("(", ")")]
    pos = 0

    def parse():
        nonlocal pos
        tok = toks[pos]
        pos += 1
        if tok.isdigit():
            return int(tok)
        args = []
        while toks[pos] != "]":
            args.append(parse())
        pos += 1
        if tok == "[MIN":
            return min(args)
        if tok == "[MAX":
            return max(args)
        if tok == "[MED":
            s, n = sorted(args), len(args)
            return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) // 2
        if tok == "[SM":
            return sum(args) % 10
        raise AssertionError(f"unknown token {tok}")

    value = parse()
    assert pos == len(toks)
    return value


def _tree_length(source):
    toks = source.split()
    return sum(t.isdigit() for t in toks) + 2 * sum(t.startswith("[")
                                                  for t in toks)


def test_labels_match_independent_evaluator():
    rows = listops.generate(300, min_length=20, max_length=200, seed=3)
    for source, target in rows:
        assert _reference_value(source.split()) == target


def test_lengths_depth_args_and_format():
    rows = listops.generate(200, min_length=50, max_length=120, seed=1)
    for source, _ in rows:
        assert 50 <= _tree_length(source) <= 120
        toks = source.split()
        assert toks[0] == "(" and toks[-1] == ")"
        # Balanced brackets and parentheses, depth <= 10.
        depth = max_depth = 0
        for t in toks:
            if t.startswith("["):
                depth += 1
                max_depth = max(max_depth, depth)
            elif t == "]":
                depth -= 1
        assert depth == 0 and max_depth <= 10
        assert toks.count("(") == toks.count(")")
    assert len({s for s, _ in rows}) == len(rows)  # distinct


def test_deterministic_per_seed():
    a = listops.generate(50, 10, 60, seed=7)
    b = listops.generate(50, 10, 60, seed=7)
    c = listops.generate(50, 10, 60, seed=8)
    assert a == b
    assert a != c


def test_all_classes_and_operators_appear():
    rows = listops.generate(500, 10, 100, seed=0)
    assert {t for _, t in rows} == set(range(10))
    ops = {t for s, _ in rows for t in s.split() if t.startswith("[")}
    assert ops == set(listops.OPERATORS)


def test_bad_lengths_raise():
    with pytest.raises(ValueError, match="min_length"):
        listops.generate(1, 100, 50)


def test_longest_tree_is_reached_and_never_exceeded():
    # Brute force over random draws (the generator's own node function).
    import random

    for depth, args in [(1, 10), (2, 3), (3, 2), (4, 2)]:
        rng, best = random.Random(0), 0
        for _ in range(20000):
            out = []
            try:
                best = max(best, listops._operator_node(rng, 1, depth, args, 10**6, out)[1])
            except listops._TooLong:
                pass
        assert best == listops.longest_tree(depth, args), (depth, args)


def test_impossible_or_too_rare_settings_fail_fast():
    import random

    with pytest.raises(ValueError,
                       match=r"min_length 500 is longer than any tree .* \(at most 12\)"):
        listops.generate(1, 500, 2000, max_depth=1)
    with pytest.raises(RuntimeError, match="No ListOps tree of length 22..22 in 50 draws"):
        listops.generate_example(random.Random(0), 22, 22, max_depth=4, max_args=2, max_draws=50)


# Issue 12's generator tries, each a one-line error naming the flag, exit 2.
@pytest.mark.parametrize("flags, message", [
    (["--max-depth", "0"], "argument --max-depth: must be an integer >= 1, got 0"),
    (["--max-depth", "1", "--min-length", "500"],
     "--min-length 500 is longer than any tree with --max-depth 1 and --max-args 10 (at most 12)"),
    (["--max-args", "1"], "argument --max-args: must be an integer >= 2, got 1"),
    (["--min-length", "100", "--max-length", "50"],
     "--min-length 100 is greater than --max-length 50"),
    (["--num-examples", "-5"], "argument --num-examples: must be an integer >= 1, got -5"),
    (["--num-examples", "x"], "argument --num-examples: must be an integer, got 'x'"),
])
def test_cli_rejects_bad_flags_before_work(tmp_path, capsys, flags, message):
    out = tmp_path / "o.tsv"
    with pytest.raises(SystemExit) as exit_info:
        listops.main(flags + ["--output", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == f"python -m keras_fnet.data.listops: error: {message}\n"
    assert not out.exists()


def test_cli_output_that_is_a_directory(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        listops.main(["--num-examples", "2", "--output", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "argument --output: must be a file path" in capsys.readouterr().err


def test_cli_writes_lra_tsv(tmp_path):
    out = tmp_path / "sub" / "train.tsv"
    listops.main(["--num-examples", "20", "--min-length", "10",
                  "--max-length", "40", "--seed", "2", "--output", str(out)])
    lines = out.read_text().splitlines()
    assert lines[0] == "Source\tTarget"
    assert len(lines) == 21
    sources, targets = listops.read_tsv(str(out))
    assert [listops.evaluate(s) for s in sources] == targets.tolist()
    assert (sources, targets.tolist()) == (
        [r[0] for r in listops.generate(20, 10, 40, seed=2)],
        [r[1] for r in listops.generate(20, 10, 40, seed=2)],
    )


def test_read_tsv_skips_malformed_rows(tmp_path, capsys):
    path = tmp_path / "bad.tsv"
    path.write_text("Source\tTarget\n( [MAX 1 2 ] )\t2\n\t3\nfoo\tx\n"
                    "( [MIN 4 5 ] )\t4\n( [SM 1 ] )\t12\n")
    sources, targets = listops.read_tsv(str(path))
    assert targets.tolist() == [2, 4]
    assert "skipped 3" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="python -m"):
        listops.read_tsv(str(tmp_path / "missing.tsv"))


def test_dataset_shapes_dtypes_and_tokens():
    rows = listops.generate(10, 10, 40, seed=0)
    sources = [r[0] for r in rows]
    ds = listops.make_dataset(sources, [r[1] for r in rows], max_length=48,
                              batch_size=4, drop_remainder=True)
    batches = list(ds)
    assert len(batches) == 2
    x, y = batches[0]
    assert x["token_ids"].shape == (4, 48) and x["token_ids"].dtype == "int32"
    assert x["segment_ids"].dtype == "int32"
    assert x["padding_mask"].dtype == "int32"
    assert y.shape == (4,) and y.dtype == "int32"
    ids = x["token_ids"].numpy()
    mask = x["padding_mask"].numpy()
    assert (ids[:, 0] == listops.CLS_ID).all()
    assert ((ids != listops.PAD_ID) == mask.astype(bool)).all()
    assert not np.isin(ids, [3, 4]).any()  # no parentheses by default
    # Sequence length = tree length + [CLS].
    assert mask[0].sum() == _tree_length(sources[0]) + 1
    vocab = listops.VOCABULARY
    decoded = [vocab[i] for i in ids[0, 1: mask[0].sum()]]
    assert decoded == [t for t in sources[0].split() if t not in "()"]
