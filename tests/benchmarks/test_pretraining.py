"""The pretraining study: corpus preparation, run plan, report, and one tiny run end to end."""

import csv
import json
import os

import pytest

from benchmarks import pretraining, pretraining_corpus, pretraining_report
from tests.conftest import BACKEND, runs_once

RST = """\
:mod:`json` --- JSON encoder
============================

.. module:: json
   :synopsis: Encode and decode.

The :mod:`json` module exposes an API familiar to users of the
`pickle <https://example.org>`_ and ``marshal`` modules.

Encoding basic objects is done like this::

    >>> json.dumps([1, 2])
    '[1, 2]'

.. code-block:: python

   this is code that spans a line of many words here

+--------+--------+
| a cell | b cell |
+--------+--------+

.. function:: dumps(obj)

   Serialize *obj* to a string, following **this** table of words.

Short one.
"""


def test_prose_paragraphs_keep_prose_only():
    assert pretraining_corpus.prose_paragraphs(RST, min_words=3) == [
        "The json module exposes an API familiar to users of the pickle and marshal modules.",
        "Encoding basic objects is done like this:",
        "Serialize obj to a string, following this table of words.",
    ]


WORDS = {
    "alpha": "apple apricot avocado acorn almond anise arugula artichoke".split(),
    "beta": "banana blueberry basil barley bean beet broccoli brussels".split(),
    "gamma": "grape guava garlic ginger gourd greens gooseberry granola".split(),
}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Three parts of a documentation tree, 60 paragraphs each (plus a top file)."""
    import numpy as np

    root = tmp_path_factory.mktemp("docs")
    rng = np.random.default_rng(0)
    for part, words in WORDS.items():
        (root / part).mkdir()
        for f in range(3):
            paragraphs = [f"{part} {f} {i}: The " + " ".join(rng.choice(words, 6)) + ". Then "
                          + " ".join(rng.choice(words, 6)) + "." for i in range(20)]
            (root / part / f"page{f}.rst.txt").write_text("\n\n".join(paragraphs) + "\n")
    (root / "index.rst").write_text("The top page has one paragraph of enough words here.\n")
    return root


def _prepare(source, data_dir, **overrides):
    kwargs = dict(vocab_size=400, num_classes=2, per_class=(20, 4, 5))
    kwargs.update(overrides)
    return pretraining_corpus.prepare(str(source), str(data_dir), **kwargs)


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_prepare_splits_and_downstream_task(source, tmp_path):
    manifest = _prepare(source, tmp_path / "data")
    files = pretraining_corpus.paths(str(tmp_path / "data"))
    assert manifest["files"] == 10 and manifest["paragraphs"] == {"pretrain": 154, "heldout": 27}
    pretrain = open(files["pretrain"]).read().strip().split("\n\n")
    heldout = open(files["heldout"]).read().strip().split("\n\n")
    assert len(pretrain) == 154 and len(heldout) == 27 and not set(pretrain) & set(heldout)
    # The two parts with the most held-out paragraphs, balanced in every split.
    classes = manifest["downstream_classes"]
    assert len(classes) == 2 and set(classes) <= set(WORDS)
    splits = {s: _read(files[f"downstream_{s}"]) for s in ("train", "validation", "test")}
    for split, per_class in zip(splits, (20, 4, 5)):
        rows = splits[split]
        assert sorted(r["label"] for r in rows) == sorted(classes * per_class)
        assert all(r["text"].startswith(r["label"] + " ") for r in rows)  # Label = its part.
    assert {r["text"] for r in splits["test"]} <= set(heldout)
    train_texts = {r["text"] for s in ("train", "validation") for r in splits[s]}
    assert train_texts <= set(pretrain) and len(train_texts) == 2 * 24  # No overlap.
    assert os.path.getsize(files["vocabulary"]) > 0
    assert not [n for n in os.listdir(tmp_path / "data") if ".tmp" in n]


def test_prepare_reuses_its_own_data_and_refuses_another(source, tmp_path):
    first = _prepare(source, tmp_path / "data")
    vocabulary = pretraining_corpus.paths(str(tmp_path / "data"))["vocabulary"]
    mtime = os.stat(vocabulary).st_mtime_ns
    assert _prepare(source, tmp_path / "data") == first
    assert os.stat(vocabulary).st_mtime_ns == mtime  # Reused, not rebuilt.
    with pytest.raises(ValueError, match="other settings.*vocab_size"):
        _prepare(source, tmp_path / "data", vocab_size=500)
    with pytest.raises(ValueError, match="held-out paragraphs.*--per-class 20 4 50"):
        _prepare(source, tmp_path / "other", per_class=(20, 4, 50))
    with pytest.raises(FileNotFoundError, match="python3-doc"):
        pretraining_corpus.prepare(str(tmp_path / "nowhere"), str(tmp_path / "x"))


def test_plan_interleaves_and_every_size_keeps_the_hybrid_apart_from_bert():
    args = pretraining.parse_args([])
    runs = pretraining.plan(args)
    assert len(runs) == 10 + 6 + 6 + 8
    assert [r[2] for r in runs[:10]] == [0] * 10 and runs[10][2] == 1
    for family in pretraining.SEEDED_FAMILIES:
        assert {s for f, size, s in runs if f == family and size == "small"} == {0, 1, 2}
    assert {(f, size) for f, size, _ in runs[22:]} == {
        (f, s) for f in pretraining.FRONTIER_FAMILIES for s in ("xs", "medium")}
    assert all(size["num_layers"] >= 3 for size in pretraining.SIZES.values())


def test_parse_args_rejects_bad_values():
    for argv, message in [(["--families", "nope"], "unknown families"),
                          (["--steps", "0"], "--steps 0"),
                          (["--per-class", "1", "0", "1"], "--per-class"),
                          (["--held-out-fraction", "1"], "--held-out-fraction")]:
        with pytest.raises(SystemExit):
            pretraining.parse_args(argv)


def _row(family, size, seed, mlm, down, seconds):
    return {"family": family, "size": size, "seed": seed, "steps": 500, "mlm_accuracy": mlm,
            "nsp_accuracy": 0.6, "downstream_accuracy": down, "train_seconds": seconds,
            "backend": "torch", "steps_per_second": 500 / seconds, "finetune_seconds": 10.0,
            "parameters": 1000}


def test_report_shares_of_bert_and_plots(tmp_path):
    args = pretraining.parse_args(["--families", "bert", "fnet", "--seeds", "0", "1"])
    rows = [_row("bert", "small", 0, 0.30, 0.80, 200), _row("bert", "small", 1, 0.32, 0.84, 220),
            _row("fnet", "small", 0, 0.27, 0.74, 150), _row("fnet", "small", 1, 0.29, 0.78, 160),
            _row("bert", "xs", 0, 0.2, 0.6, 100), _row("fnet", "xs", 0, 0.19, 0.6, 70)]
    manifest = {"files": 3, "settings": {"source": "docs", "vocab_size": 100},
                "source_sha256": "ab" * 32, "paragraphs": {"pretrain": 90, "heldout": 10},
                "words": {"pretrain": 1000, "heldout": 100},
                "downstream_classes": ["a", "b"],
                "downstream_examples": {"train": 40, "validation": 8, "test": 10}}
    curves = {("bert", "small", s): {"step": list(range(1, 101)),
                                     "mlm_accuracy": [i / 400 for i in range(100)]}
              for s in (0, 1)}
    stem = str(tmp_path / "pretraining")
    pretraining_report.write(args, manifest, rows, curves, stem)
    text = open(stem + ".md").read()
    # fnet: downstream 0.76 / 0.82 = 93%, MLM 0.28 / 0.31 = 90%; paper 76.7 / 83.3 = 92%;
    # steps/s mean(500 / 150, 500 / 160) = 3.23.
    assert ("| fnet | 2 | 0.280 (0.270-0.290) | 0.600 (0.600-0.600) | 0.760 (0.740-0.780) | "
            "93% | 90% | 92% | 155 | 3.23 |") in text
    assert "| bert | xs | 0.200 | 0.600 | 100 | 5.00 |" in text
    for suffix in ("_curves.png", "_pareto.png", "_ordering.png"):
        assert os.path.getsize(stem + suffix) > 10000


@runs_once  # The training API it drives is tested on every backend.
def test_tiny_study_end_to_end(source, tmp_path):
    """Two real runs (pretrain, fine-tune) of one family through the training API."""
    pytest.importorskip("tensorflow")
    argv = ["--quick", "--families", "fnet", "--corpus", str(source), "--backend", BACKEND,
            "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"),
            "--vocab-size", "400", "--downstream-classes", "2", "--per-class", "20", "4", "5",
            "--batch-size", "4", "--max-length", "32", "--workers", "1"]
    pretraining.main(argv)
    rows = pretraining.read_csv(str(tmp_path / "results" / "pretraining.csv"))
    assert [(r["family"], r["size"], r["seed"], r["steps"], r["backend"]) for r in rows] == \
        [("fnet", "small", 0, 20, BACKEND)]
    assert 0 <= rows[0]["mlm_accuracy"] <= 1 and 0 <= rows[0]["downstream_accuracy"] <= 1
    downstream_dir = pretraining.run_dirs(pretraining.parse_args(argv), "fnet", "small", 0)[1]
    with open(os.path.join(downstream_dir, "metrics.json")) as f:
        downstream = json.load(f)
    assert downstream["eval_split"] == "test" and downstream["num_eval_examples"] == 10
    # A second call reports the finished runs without training again.
    pretraining.main(argv + ["--report-only"])
    assert pretraining.read_csv(str(tmp_path / "results" / "pretraining.csv")) == rows
