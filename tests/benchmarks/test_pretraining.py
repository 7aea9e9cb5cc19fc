"""The pretraining study: data, run plan, the learning-rate pick, bootstrap intervals, the
verdict, tiny runs of the worker (MLM only, keras-hub reference, resume), the study end to
end."""

import csv
import json
import os

import numpy as np
import pytest

from benchmarks import pretraining, pretraining_corpus, pretraining_report, pretraining_worker
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


def test_plan_sweeps_every_family_then_seeds_references_and_extras():
    args = pretraining.parse_args([])
    runs = pretraining.study_plan(args)
    sweep = [r for r in runs if r[4] == "sweep"]
    assert {(f, rate) for f, _, _, rate, _ in sweep} == {
        (f, rate) for f in pretraining.CORE_FAMILIES for rate in (1e-3, 3e-3, 1e-2)}
    assert {r[2] for r in sweep} == {0} and {r[1] for r in runs} == {"h128"}
    # The sweep's runs are fine-tuned only at the rate picked.
    assert sorted(r[0] for r in runs if r[4] == "selected") == sorted(pretraining.CORE_FAMILIES)
    seeds = [r for r in runs if r[4] == "seeds"]
    assert sorted((f, s) for f, _, s, _, _ in seeds) == sorted(
        (f, s) for f in pretraining.CORE_FAMILIES for s in (1, 2))
    assert sorted((f, s) for f, _, s, _, p in runs if p == "reference") == [
        ("keras_hub_bert", s) for s in (0, 1, 2)] + [("keras_hub_fnet", s) for s in (0, 1, 2)]
    assert {r[0] for r in runs if r[4] == "extra"} == {"dct", "hadamard"}
    h128 = pretraining.SIZES["h128"]
    assert h128["hidden_dim"] == 128 and h128["hidden_dim"] // h128["num_heads"] >= 32
    assert all(s["num_layers"] == 4 and s["hidden_dim"] // s["num_heads"] >= 32
               for s in pretraining.SIZES.values())


def test_parse_args_rejects_bad_values():
    for argv in (["--families", "nope"], ["--steps", "0"], ["--per-class", "1", "0", "1"],
                 ["--held-out-fraction", "1"], ["--objective", "nsp"],
                 ["--learning-rates", "0"], ["--families", "fnet"]):
        with pytest.raises(SystemExit):
            pretraining.parse_args(argv)


def test_sentence_pairs_are_balanced_halves():
    rng = np.random.default_rng(0)
    paragraphs = [f"Para {i} starts here. It goes on {i}. And ends {i}." for i in range(40)]
    rows = pretraining.sentence_pairs(paragraphs + ["One sentence only here."], 30, rng)
    assert len(rows) == 30 and sorted({r[2] for r in rows}) == ["next", "other"]
    assert sum(r[2] == "next" for r in rows) == 15
    for first, second, label in rows:
        own = first.split()[1] == second.split()[-1].rstrip(".")
        assert own == (label == "next"), (first, second, label)


def _sweep_row(family, rate, validation, test, phase="sweep", seed=0):
    return {"family": family, "size": "h128", "seed": seed, "steps": 800,
            "learning_rate": rate, "objective": "mlm", "validation_mlm_accuracy": validation,
            "mlm_accuracy": test, "phase": phase}


def test_rates_are_picked_on_validation_and_the_sweep_extends_past_an_end():
    args = pretraining.parse_args([])
    rows = [_sweep_row("bert", 1e-3, 0.10, 0.30), _sweep_row("bert", 3e-3, 0.12, 0.10),
            _sweep_row("bert", 1e-2, 0.11, 0.10),
            _sweep_row("fnet", 1e-3, 0.10, 0.10), _sweep_row("fnet", 3e-3, 0.11, 0.10),
            _sweep_row("fnet", 1e-2, 0.13, 0.10),
            _sweep_row("linear", 1e-3, 0.20, 0.10), _sweep_row("linear", 3e-3, 0.11, 0.10),
            _sweep_row("bert", 1e-1, 0.99, 0.99, phase="seeds", seed=1)]
    families = {"bert", "fnet", "linear"}
    # The test accuracy (0.30 at 1e-3) and other phases do not choose.
    assert pretraining.pick_rates(rows, families, "h128", 0, 800) == {
        "bert": 3e-3, "fnet": 1e-2, "linear": 1e-3}
    assert sorted(pretraining.extensions(rows, families, [1e-3, 3e-3, 1e-2], args)) == [
        ("fnet", 0.0333), ("linear", 0.0003)]


def test_bootstrap_interval_against_an_independent_numpy_reference():
    correct = np.random.default_rng(1).random(400) < 0.7
    low, high = pretraining.bootstrap_ci(correct.astype(int), resamples=4000, seed=0)
    # Independently: resampling one draw at a time, and the normal approximation.
    rng = np.random.default_rng(123)
    means = [correct[rng.choice(400, 400)].mean() for _ in range(4000)]
    p = correct.mean()
    half = 1.96 * np.sqrt(p * (1 - p) / 400)
    assert abs(low - np.quantile(means, 0.025)) < 0.006
    assert abs(high - np.quantile(means, 0.975)) < 0.006
    assert abs(low - (p - half)) < 0.008 and abs(high - (p + half)) < 0.008
    assert pretraining.bootstrap_ci(correct.astype(int), 4000, 0) == (low, high)  # Fixed seed.


def _report_row(family, seed, parts, mlm=0.2, sps=2.0, rate=1e-3, phase="seeds"):
    return {"family": family, "size": "h128", "seed": seed, "steps": 800,
            "learning_rate": rate, "objective": "mlm", "mlm_accuracy": mlm,
            "nsp_accuracy": float("nan"), "downstream_accuracy": parts,
            "pairs_accuracy": float("nan"), "validation_mlm_accuracy": mlm,
            "mlm_gain_last_quarter": 0.001, "train_seconds": 800 / sps, "phase": phase,
            "selected": 1, "steps_per_second": sps}


def test_report_verdict_follows_the_numbers(tmp_path):
    """bert 0.80, fnet 0.76 (95%), random 0.50, ff_only 0.30 on 1000 test examples: structure
    matters and FNet's share is in the paper's band; the hybrid, DCT and Hadamard are missing."""
    args = pretraining.parse_args(["--seeds", "0", "1"])
    rng = np.random.default_rng(0)
    rows, predictions = [], {}
    for family, accuracy, sps in (("bert", 0.80, 1.0), ("fnet", 0.76, 2.0),
                                  ("random", 0.50, 2.0), ("ff_only", 0.30, 3.0)):
        for seed in (0, 1):
            correct = (rng.random(1000) < accuracy).astype(int)
            row = _report_row(family, seed, correct.mean(), sps=sps + 0.01 * seed)
            rows.append(row)
            predictions[pretraining.key_of(row)] = {"parts": "".join(map(str, correct))}
    rows.append(_report_row("keras_hub_bert", 0, float("nan"), mlm=0.21, phase="reference"))
    rows[-1]["selected"] = 0
    stem = str(tmp_path / "pretraining")
    pretraining_report.write(args, None, rows, predictions, {}, stem, pretraining.SIZES)
    text = open(stem + ".md").read()
    verdicts = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1]
                for line in text.splitlines() if line.startswith("| ") and " | " in line}
    assert verdicts["Structure matters: FNet beats random mixing and no mixing (FF-only)"] \
        == "reproduced"
    assert verdicts["FNet reaches 92-97% of BERT's accuracy"] == "reproduced"
    assert verdicts["Linear reaches 92-97% of BERT's accuracy"] == "not yet measured"
    assert verdicts["DCT and Hadamard mixing trail the DFT"] == "not yet measured"
    assert verdicts["FF-only is the poorest family"] == "reproduced"
    assert verdicts["FNet / Linear lie on the speed-accuracy frontier, faster than BERT"] \
        == "reproduced"
    # The shares' interval: fnet / bert from the same joint bootstrap, computed here.
    boot = pretraining_report.Bootstrap(pretraining_report.main_rows(rows, "h128"),
                                        predictions, "parts", args.bootstrap)
    point, low, high = boot.interval(lambda f, b: f / b, "fnet", "bert")
    assert f"fnet / bert {point:.3f} [{low:.3f}, {high:.3f}]" in text
    assert low < point < high and abs(point - np.mean([r["downstream_accuracy"] for r in rows
                                                        if r["family"] == "fnet"]) /
                                      np.mean([r["downstream_accuracy"] for r in rows[:2]])
                                      ) < 1e-9
    assert "| bert | - | - | - | - | not yet measured |" not in text  # One seed: unknown.
    assert "one seed: unknown" in text


def _tiny_config(source, tmp_path, family, **overrides):
    args = pretraining.parse_args([
        "--corpus", str(source), "--data-dir", str(tmp_path / "data"), "--vocab-size", "400",
        "--downstream-classes", "2", "--per-class", "20", "4", "5", "--pairs", "40", "8", "8",
        "--batch-size", "4", "--max-length", "32", "--steps", "4", "--eval-every", "2",
        "--validation-batches", "1", "--eval-batches", "2", "--finetune-steps", "2",
        "--runs-dir", str(tmp_path / "runs"), "--backend", BACKEND])
    _, files = pretraining.prepare_data(args)
    cfg = pretraining.run_config(args, files, family, "h32", 0, 1e-3)
    cfg.update(overrides)
    return cfg


class _Crash(Exception):
    pass


class _CrashAfter:
    """A Keras callback that stops the process's training after `step` steps."""

    def __new__(cls, step):
        import keras

        class Crash(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) >= step:
                    raise _Crash()

        return Crash()


def test_mlm_only_pretraining_resumes_after_an_interruption(source, tmp_path):
    """The zoo's FNet, MLM only: no NSP head trained or scored; killed after step 3, the run
    resumes from its step-2 checkpoint to step 4 on the same batches."""
    cfg = _tiny_config(source, tmp_path, "fnet")
    model, pretrainer = pretraining_worker.build_model(cfg, 400)
    assert "nsp_head" not in {layer.name for layer in model.layers}
    assert model.count_params() < pretrainer.count_params()
    with pytest.raises(_Crash):
        pretraining_worker.pretrain(cfg, cfg["run_dir"], callbacks=[_CrashAfter(3)])
    result = pretraining_worker.pretrain(cfg, cfg["run_dir"])
    assert result["resumed_from_step"] == 2 and result["steps"] == 4
    assert result["history"]["step"] == [1, 2, 3, 4] and result["history"]["val_step"][-1] == 4
    test = result["evaluation"]["test"]
    assert 0 <= test["mlm_accuracy"] <= 1 and test["nsp_accuracy"] != test["nsp_accuracy"]
    assert os.path.exists(os.path.join(cfg["run_dir"], pretraining_worker.PRETRAINED_FILE))


def test_keras_hub_reference_trains_mlm_only(source, tmp_path):
    """keras-hub's BertMaskedLM on BertBackbone, on the same prepared batches."""
    import keras_hub

    cfg = _tiny_config(source, tmp_path, "keras_hub_bert", downstream={})
    model, pretrainer = pretraining_worker.build_model(cfg, 400)
    assert isinstance(model, keras_hub.models.BertMaskedLM) and pretrainer is None
    backbone = model.backbone
    assert (backbone.num_layers, backbone.hidden_dim, backbone.num_heads) == (4, 32, 1)
    result = pretraining_worker.run(cfg)
    assert result["pretrain"]["steps"] == 4 and result["downstream"] == {}
    assert 0 <= result["pretrain"]["evaluation"]["validation"]["mlm_accuracy"] <= 1
    with pytest.raises(ValueError, match="no NSP head"):
        pretraining_worker.build_model(dict(cfg, objective="mlm+nsp"), 400)


@runs_once  # A worker process (~50 s); the worker's pretraining is tested on every backend.
def test_tiny_study_end_to_end_and_resumed(source, tmp_path):
    """One run of the study (pretrain, two fine-tunings) through a worker process; a second
    call trains nothing (the run directory, then only the committed CSV, say it is done)."""
    argv = ["--families", "fnet", "--extra-families", "--reference-families",
            "--learning-rates", "1e-3", "--max-extensions", "0", "--seeds", "0",
            "--corpus", str(source), "--backend", BACKEND, "--size", "h32",
            "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"),
            "--vocab-size", "400", "--downstream-classes", "2", "--per-class", "20", "4", "5",
            "--pairs", "40", "8", "8", "--batch-size", "4", "--max-length", "32",
            "--steps", "4", "--eval-every", "2", "--validation-batches", "1",
            "--eval-batches", "2", "--finetune-steps", "2", "--workers", "1"]
    pretraining.main(argv)
    csv_path = str(tmp_path / "results" / "pretraining.csv")
    rows = pretraining.read_csv(csv_path)
    assert [(r["family"], r["size"], r["seed"], r["steps"], r["learning_rate"], r["objective"],
             r["backend"], r["phase"], r["selected"]) for r in rows] == \
        [("fnet", "h32", 0, 4, 1e-3, "mlm", BACKEND, "sweep", 1)]
    row = rows[0]
    assert set(pretraining.FIELDS) <= set(row) and row["nsp_accuracy"] != row["nsp_accuracy"]
    with open(str(tmp_path / "results" / "pretraining_predictions.json")) as f:
        predictions = json.load(f)
    (correct,) = predictions.values()
    assert len(correct["parts"]) == 10 and len(correct["pairs"]) == 8
    for task, prefix in (("parts", "downstream"), ("pairs", "pairs")):
        values = np.array([int(c) for c in correct[task]])
        assert row[f"{prefix}_accuracy"] == round(values.mean(), 4)
        assert row[f"{prefix}_ci_low"] <= row[f"{prefix}_accuracy"] <= row[f"{prefix}_ci_high"]
    with open(str(tmp_path / "results" / "pretraining_validation_curves.json")) as f:
        (curve,) = json.load(f).values()
    assert curve["val_step"] == [2, 4] and len(curve["val_mlm_accuracy"]) == 2
    text = open(str(tmp_path / "results" / "pretraining.md")).read()
    assert "## Verdict" in text and "not yet measured" in text
    assert "## Learning-rate sweep" in text
    assert "Picked at an end of the range tried (the best rate may lie beyond it): none." in text
    # Resume: nothing retrained, first with the run directories, then without them.
    import shutil

    before = os.path.getmtime(csv_path)
    pretraining.main(argv)
    shutil.rmtree(tmp_path / "runs" / BACKEND)
    pretraining.main(argv)
    assert not os.path.exists(tmp_path / "runs" / BACKEND)
    assert pretraining.read_csv(csv_path)[0]["mlm_accuracy"] == row["mlm_accuracy"]
    assert os.path.getmtime(csv_path) >= before
    pretraining.main(argv + ["--report-only"])
    pretraining.main(argv + ["--plan"])


def test_report_a_task_at_chance_decides_nothing_and_speed_comes_from_the_suite(tmp_path):
    """`pairs` at chance for every family cannot tell them apart: its verdicts are
    inconclusive and the overall verdicts follow `parts`. The frontier's speed is the speed
    suite's (length 512) where speed.csv has the families."""
    args = pretraining.parse_args(["--seeds", "0", "1"])
    rng = np.random.default_rng(0)
    rows, predictions = [], {}
    for family, accuracy in (("bert", 0.80), ("fnet", 0.76), ("random", 0.50),
                             ("ff_only", 0.30)):
        for seed in (0, 1):
            parts = (rng.random(1000) < accuracy).astype(int)
            pairs = (rng.random(1000) < 0.5).astype(int)
            row = _report_row(family, seed, parts.mean(), sps=1.0)  # The study: bert as fast.
            row["pairs_accuracy"] = pairs.mean()
            rows.append(row)
            predictions[pretraining.key_of(row)] = {"parts": "".join(map(str, parts)),
                                                    "pairs": "".join(map(str, pairs))}
    fields = ["suite", "backend", "model", "source", "mode", "length", "status", "median_ms",
              "min_ms", "max_ms"]
    with open(tmp_path / "speed.csv", "w") as f:
        f.write(",".join(fields) + "\n")
        for model, ms in (("bert", 900.0), ("fnet", 300.0), ("ff_only", 280.0)):
            f.write(f"lengths,{args.backend},{model},keras_fnet,train,512,ok,{ms},{ms * 0.9},"
                    f"{ms * 1.1}\n")
        f.write(f"main,{args.backend},bert,keras_fnet,train,512,ok,1.0,1.0,1.0\n")  # Not used.
    manifest_classes = {"downstream_classes": ["a", "b", "c", "d", "e"]}
    speeds = pretraining_report.suite_speed(str(tmp_path / "speed.csv"), args.backend)
    assert speeds["bert"] == pytest.approx((1000 / 900, 1000 / 990, 1000 / 810))
    boots = {t: pretraining_report.Bootstrap(pretraining_report.main_rows(rows, "h128"),
                                             predictions, t, args.bootstrap)
             for t in pretraining_report.TASK_COLUMNS}
    chances = pretraining_report.chances(manifest_classes)
    assert chances == {"parts": 0.2, "pairs": 0.5}
    result = {claim: (per_task, overall) for claim, per_task, overall in
              pretraining_report.verdict(pretraining_report.main_rows(rows, "h128"), boots,
                                         chances, speeds)}
    structure, overall = result["Structure matters: FNet beats random mixing and no mixing "
                                "(FF-only)"]
    assert structure["parts"][0] == "reproduced" and overall == "reproduced"
    assert structure["pairs"][0] == "inconclusive"
    assert "cannot tell the families apart" in structure["pairs"][1]
    frontier, overall = result["FNet / Linear lie on the speed-accuracy frontier, faster "
                               "than BERT"]
    assert overall == "reproduced" and "from the speed suite" in frontier["parts"][1]
    lines = pretraining_report.chance_lines(boots, chances)
    assert any("`pairs` (chance 0.50): above chance none" in line
               and "cannot tell the families apart" in line for line in lines)
