"""Pretraining study: every family pretrained on real English prose at a tuned learning rate,
then fine-tuned on two downstream tasks.

    python -m benchmarks.pretraining --plan           # the runs and their estimated CPU time
    python -m benchmarks.pretraining --measure-speed 30   # steps/s per family (for --plan)
    python -m benchmarks.pretraining                  # the committed study (guides/benchmarks.md)
    python -m benchmarks.pretraining --quick          # a minutes-long check of the pipeline

The corpus (default: the Python documentation sources of Debian's `python3-doc`)
becomes prose paragraphs, 15% of them held out (half for validation, half for
test) and a SentencePiece vocabulary trained on the rest
(`benchmarks.pretraining_corpus`). Every run is one process of the backend
(`benchmarks.pretraining_worker`): pretraining with the objective `mlm`
(masked LM only) or `mlm+nsp` (the paper's), the same steps, batch, length,
AdamW and warm-up/linear-decay schedule for every family, then fine-tuning
through the training API on two tasks:

* `parts`: which part of the documentation (`library`, `c-api`, ...) a
  paragraph comes from (test paragraphs: held-out ones);
* `pairs`: whether the second half of a paragraph follows its first half or
  comes from another paragraph (test pairs: from held-out test paragraphs).

The study runs in two phases. The sweep trains each family at every
`--learning-rates` value with the first seed and picks each family's rate on
held-out *validation* MLM accuracy; a best rate at an end of the range extends
the range. Then every family trains at its rate with the other seeds, keras-hub's
own BERT and FNet masked LMs (`keras_hub_bert`, `keras_hub_fnet`) at the rate of
their zoo family with every seed, and the `--extra-families` at FNet's rate.

A finished run is never retrained: it is read back from its run directory, or
from the committed CSV (a fresh machine resumes there); an interrupted run
resumes from its checkpoint. Each finished run's row goes into
`pretraining.csv` at once (with its test examples' correctness in
`pretraining_predictions.json`, for the bootstrap intervals; its validation
curve in `pretraining_validation_curves.json`, for the plot), and the report
`pretraining.md` is rewritten.
"""

import argparse
import concurrent.futures
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from benchmarks import pretraining_corpus, pretraining_report
from keras_fnet.config import FAMILIES

BACKENDS = ("tensorflow", "jax", "torch")
FIELDS = ("family", "size", "seed", "steps", "learning_rate", "objective", "mlm_accuracy",
          "nsp_accuracy", "downstream_accuracy", "downstream_ci_low", "downstream_ci_high",
          "train_seconds", "backend", "pairs_accuracy", "pairs_ci_low", "pairs_ci_high",
          "validation_mlm_accuracy", "mlm_gain_last_quarter", "phase", "selected",
          "steps_per_second", "finetune_seconds", "parameters")
INTEGER_FIELDS = ("seed", "steps", "selected", "parameters")
TEXT_FIELDS = ("family", "size", "objective", "backend", "phase")
TASKS = ("parts", "pairs")  # The CSV's downstream_* and pairs_* columns.

# The study's sizes, named by width: four blocks everywhere (so that `fnet_hybrid`,
# attention in the top two, is not BERT), heads 32 wide. The library's size names
# (`keras_fnet.SIZES`) are other models: its `tiny` is 2 x 128, `mini` 4 x 256.
SIZES = {
    "h32": dict(num_layers=4, hidden_dim=32, intermediate_dim=128, num_heads=1),
    "h64": dict(num_layers=4, hidden_dim=64, intermediate_dim=256, num_heads=2),
    "h128": dict(num_layers=4, hidden_dim=128, intermediate_dim=512, num_heads=4),
    "h256": dict(num_layers=4, hidden_dim=256, intermediate_dim=1024, num_heads=8),
    "h512": dict(num_layers=4, hidden_dim=512, intermediate_dim=2048, num_heads=8),
}
CORE_FAMILIES = ("bert", "fnet", "linear", "random", "ff_only", "fnet_hybrid")
# keras-hub's own models, each beside the zoo family it is checked against.
REFERENCES = {"keras_hub_bert": "bert", "keras_hub_fnet": "fnet"}
FRONTIER_FAMILIES = ("bert", "fnet", "linear", "ff_only")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.pretraining",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--corpus", default=pretraining_corpus.DEFAULT_SOURCE,
                   help=f"folder of .rst/.rst.txt/.txt files; default: "
                        f"{pretraining_corpus.SOURCE_HINT}")
    p.add_argument("--objective", default="mlm", choices=("mlm", "mlm+nsp"),
                   help="pretraining objective of the zoo's families (keras-hub's: mlm)")
    p.add_argument("--families", nargs="+", default=list(CORE_FAMILIES),
                   help="families swept over --learning-rates and run with every seed")
    p.add_argument("--extra-families", nargs="*", default=["dct", "hadamard"],
                   help="families run at FNet's rate with the first seed")
    p.add_argument("--reference-families", nargs="*", default=list(REFERENCES),
                   choices=list(REFERENCES), help="keras-hub models, with every seed")
    p.add_argument("--size", default="h128", choices=SIZES, help="size of every run")
    p.add_argument("--frontier-sizes", nargs="*", default=[], choices=SIZES,
                   help="more sizes for the speed-accuracy frontier (first seed, own rate)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds")
    p.add_argument("--learning-rates", nargs="+", type=float, default=[1e-3, 3e-3, 1e-2],
                   help="peak pretraining learning rates of the sweep (10%% warm-up, linear "
                        "decay)")
    p.add_argument("--max-extensions", type=int, default=1,
                   help="times the sweep may add a rate past a best rate at an end")
    p.add_argument("--steps", type=int, default=800,
                   help="pretraining steps of every run (the budget that fits 6 hours here)")
    p.add_argument("--batch-size", type=int, default=32, help="batch of every run")
    p.add_argument("--max-length", type=int, default=64,
                   help="sequence length (the paragraphs average ~45 tokens)")
    p.add_argument("--eval-every", type=int, default=250,
                   help="steps between validation passes and checkpoints")
    p.add_argument("--validation-batches", type=int, default=10,
                   help="held-out validation batches of each pass during training")
    p.add_argument("--eval-batches", type=int, default=50,
                   help="held-out batches of the final validation and test MLM/NSP accuracy")
    p.add_argument("--finetune-steps", type=int, default=200, help="downstream steps")
    p.add_argument("--finetune-learning-rate", type=float, default=1e-3,
                   help="downstream peak learning rate")
    p.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece pieces")
    p.add_argument("--downstream-classes", type=int, default=5,
                   help="parts task: the corpus parts (top folders) with most paragraphs")
    p.add_argument("--per-class", type=int, nargs=3, default=[1000, 100, 190],
                   metavar=("TRAIN", "VALIDATION", "TEST"),
                   help="parts task: paragraphs per class and split")
    p.add_argument("--pairs", type=int, nargs=3, default=[4000, 400, 1000],
                   metavar=("TRAIN", "VALIDATION", "TEST"),
                   help="pairs task: pairs per split (at most the paragraphs there are)")
    p.add_argument("--held-out-fraction", type=float, default=0.15,
                   help="fraction of the paragraphs held out from pretraining")
    p.add_argument("--data-seed", type=int, default=0,
                   help="seed of the held-out paragraphs and the downstream samples")
    p.add_argument("--bootstrap", type=int, default=2000,
                   help="bootstrap resamples of the 95%% intervals (numpy, seed 0)")
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="backend of every run (torch is the fastest on this CPU)")
    p.add_argument("--workers", type=int, default=2,
                   help="runs training at once (each gets cores/workers threads)")
    p.add_argument("--runs-dir", default="runs/pretraining_study", help="where the runs go")
    p.add_argument("--data-dir", default=None,
                   help="the prepared corpus (default: <runs-dir>/data)")
    p.add_argument("--results-dir", default="benchmarks/results",
                   help="where the CSV/MD/JSON go")
    p.add_argument("--plan", action="store_true",
                   help="print the runs and their estimated CPU time; train nothing")
    p.add_argument("--measure-speed", type=int, default=0, metavar="STEPS",
                   help="train each family STEPS steps at --size, --workers at a time, and "
                        "save its steps/s for --plan; train nothing else")
    p.add_argument("--report-only", action="store_true",
                   help="the report from the committed CSV; train nothing")
    p.add_argument("--quick", action="store_true",
                   help="bert and fnet, 1 seed, 1 rate, 20 steps: checks the pipeline")
    args = p.parse_args(argv)
    if args.quick:
        args.families = [f for f in ("fnet", "bert") if f in args.families] or args.families[:1]
        args.extra_families, args.reference_families, args.frontier_sizes = [], [], []
        args.seeds, args.learning_rates = args.seeds[:1], args.learning_rates[:1]
        args.max_extensions = 0
        args.steps, args.finetune_steps, args.eval_every = 20, 10, 10
        args.eval_batches, args.validation_batches = 2, 2
    for name in ("families", "extra_families"):
        unknown = sorted(set(getattr(args, name)) - set(FAMILIES))
        if unknown:
            p.error(f"--{name.replace('_', '-')}: unknown families {unknown}; choose from "
                    f"{', '.join(FAMILIES)}")
    for name in ("steps", "batch_size", "max_length", "eval_every", "validation_batches",
                 "eval_batches", "finetune_steps", "vocab_size", "workers",
                 "downstream_classes", "bootstrap"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= 1")
    if min(args.per_class) < 1 or min(args.pairs) < 1:
        p.error(f"--per-class {args.per_class} / --pairs {args.pairs}: every count must be >= 1")
    if min(args.learning_rates) <= 0:
        p.error(f"--learning-rates {args.learning_rates}: must be > 0")
    if not 0 < args.held_out_fraction < 1:
        p.error(f"--held-out-fraction {args.held_out_fraction}: must be between 0 and 1")
    if "bert" not in args.families and "keras_hub_bert" in args.reference_families or \
            "fnet" not in args.families and "keras_hub_fnet" in args.reference_families:
        p.error("--reference-families: each needs its zoo family (bert, fnet) in --families")
    args.learning_rates = sorted(set(args.learning_rates))
    args.data_dir = args.data_dir or os.path.join(args.runs_dir, "data")
    return args


# ---- Data -----------------------------------------------------------------------------


def prepare_data(args):
    """The corpus files (`benchmarks.pretraining_corpus`) plus the study's own: the held-out
    paragraphs split in validation and test halves, and the pairs task. Returns
    `(manifest, files)`."""
    manifest = pretraining_corpus.prepare(
        args.corpus, args.data_dir, vocab_size=args.vocab_size, seed=args.data_seed,
        held_out_fraction=args.held_out_fraction, num_classes=args.downstream_classes,
        per_class=tuple(args.per_class))
    files = dict(pretraining_corpus.paths(args.data_dir))
    files.update(heldout_validation=os.path.join(args.data_dir, "heldout_validation.txt"),
                 heldout_test=os.path.join(args.data_dir, "heldout_test.txt"),
                 **{f"pairs_{s}": os.path.join(args.data_dir, f"pairs_{s}_{n}.csv")
                    for s, n in zip(("train", "validation", "test"), args.pairs)})
    if not all(os.path.exists(files[k]) for k in files):
        counts = write_study_data(files, args.pairs, args.data_seed)
        print(f"pairs task: {counts}", flush=True)
    return manifest, files


def _paragraphs(path):
    with open(path, encoding="utf-8") as f:
        return [p for p in f.read().split("\n\n") if p.strip()]


def sentence_pairs(paragraphs, count, rng):
    """`count` (or fewer) pairs (first half, second half, label) of the paragraphs with at
    least two sentences: label `next` for the paragraph's own second half, `other` for
    another paragraph's; balanced, in random order."""
    from keras_fnet.data.corpus import split_documents

    documents = [d for p in paragraphs for d in split_documents(p) if len(d) >= 2]
    order = rng.permutation(len(documents))[:count]
    rows = []
    for n, i in enumerate(order):
        sentences = documents[i]
        half = len(sentences) // 2
        first = " ".join(sentences[:half])
        if n % 2 == 0:
            second, label = " ".join(sentences[half:]), "next"
        else:
            j = (i + 1 + rng.integers(len(documents) - 1)) % len(documents)
            other = documents[j]
            second, label = " ".join(other[len(other) // 2:]), "other"
        rows.append((first, second, label))
    return [rows[i] for i in rng.permutation(len(rows))]


def write_study_data(files, pairs, seed):
    """Write the held-out halves and the pairs task (each file whole); returns the counts."""
    from keras_fnet.data import tokenizer as tk

    rng = np.random.default_rng(seed)
    heldout = _paragraphs(files["heldout"])
    order = rng.permutation(len(heldout))
    halves = {"heldout_validation": sorted(order[: len(heldout) // 2]),
              "heldout_test": sorted(order[len(heldout) // 2:])}
    texts = {k: [heldout[i] for i in v] for k, v in halves.items()}
    for name, paragraphs in texts.items():
        tk.write_whole(files[name], ("\n\n".join(paragraphs) + "\n").encode("utf-8"))
    pretrain = _paragraphs(files["pretrain"])
    cut = int(0.9 * len(pretrain))
    sources = {"train": pretrain[:cut], "validation": pretrain[cut:],
               "test": texts["heldout_test"]}
    counts = {}
    for (split, paragraphs), count in zip(sources.items(), pairs):
        rows = sentence_pairs(paragraphs, count, rng)
        buffer = _csv_text(("text", "text_pair", "label"), rows)
        tk.write_whole(files[f"pairs_{split}"], buffer.encode("utf-8"))
        counts[split] = len(rows)
    return counts


def _csv_text(header, rows):
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def downstream_files(files):
    return {"parts": {"train": files["downstream_train"],
                      "validation": files["downstream_validation"],
                      "test": files["downstream_test"]},
            "pairs": {"train": files["pairs_train"], "validation": files["pairs_validation"],
                      "test": files["pairs_test"], "text_pair_column": "text_pair"}}


# ---- Runs -----------------------------------------------------------------------------


def key_of(row):
    """What identifies a run of the study (with the study's fixed settings)."""
    return (row["family"], row["size"], int(row["seed"]), int(row["steps"]),
            float(f"{float(row['learning_rate']):.6g}"), row["objective"])


def objective_of(args, family):
    return "mlm" if family in REFERENCES else args.objective


def run_dir_of(args, family, size, seed, learning_rate, steps, objective):
    name = f"{family}_{size}_s{seed}_lr{learning_rate:g}_{steps}steps_{objective}"
    return os.path.abspath(os.path.join(args.runs_dir, args.backend, name.replace("+", "_")))


def run_config(args, files, family, size, seed, learning_rate, steps=None, downstream=True):
    steps = steps or args.steps
    objective = objective_of(args, family)
    return {
        "family": family, "dims": SIZES[size], "seed": seed, "steps": steps,
        "learning_rate": learning_rate, "objective": objective,
        "batch_size": args.batch_size, "max_length": args.max_length,
        "eval_every": min(args.eval_every, steps), "validation_batches": args.validation_batches,
        "eval_batches": args.eval_batches,
        "files": {k: os.path.abspath(files[k]) for k in
                  ("pretrain", "heldout_validation", "heldout_test", "vocabulary")},
        "downstream": {t: {k: os.path.abspath(v) if k != "text_pair_column" else v
                           for k, v in d.items()}
                       for t, d in downstream_files(files).items()} if downstream else {},
        "finetune_steps": args.finetune_steps,
        "finetune_learning_rate": args.finetune_learning_rate,
        "run_dir": run_dir_of(args, family, size, seed, learning_rate, steps, objective),
    }


def run_worker(args, cfg):
    """The run of `cfg` in a fresh process of the backend (resumed if interrupted)."""
    from benchmarks.pretraining_worker import RESULT_FILE

    path = os.path.join(cfg["run_dir"], RESULT_FILE)
    if os.path.exists(path):
        with open(path) as f:
            stored = json.load(f)
        if stored["config"] == cfg:
            return stored
    threads = str(max(1, (os.cpu_count() or 1) // args.workers))
    env = dict(os.environ, KERAS_BACKEND=args.backend, TF_CPP_MIN_LOG_LEVEL="3",
               OMP_NUM_THREADS=threads)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    os.makedirs(cfg["run_dir"], exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cfg, f)
    log = os.path.join(cfg["run_dir"], "worker.log")
    try:
        with open(log, "a") as out:
            result = subprocess.run([sys.executable, "-m", "benchmarks.pretraining_worker",
                                     f.name], env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        os.remove(f.name)
    if result.returncode or not os.path.exists(path):
        with open(log) as out:
            tail = out.read()[-3000:]
        raise RuntimeError(f"run {cfg['run_dir']} failed (exit {result.returncode}):\n{tail}")
    with open(path) as f:
        return json.load(f)


def bootstrap_ci(correct, resamples=2000, seed=0):
    """Percentile bootstrap 95% interval of the mean of 0/1 `correct` (numpy, fixed seed)."""
    correct = np.asarray(correct, dtype=float)
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), (resamples, len(correct)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def row_of(args, result, phase):
    cfg, pre = result["config"], result["pretrain"]
    size = next(s for s, d in SIZES.items() if d == cfg["dims"])
    nan = float("nan")
    down = result["downstream"]
    row = {"family": cfg["family"], "size": size, "seed": cfg["seed"], "steps": pre["steps"],
           "learning_rate": cfg["learning_rate"], "objective": cfg["objective"],
           "mlm_accuracy": round(pre["evaluation"]["test"]["mlm_accuracy"], 4),
           "nsp_accuracy": round(pre["evaluation"]["test"]["nsp_accuracy"], 4),
           "validation_mlm_accuracy": round(pre["evaluation"]["validation"]["mlm_accuracy"], 4),
           "mlm_gain_last_quarter": (round(pre["mlm_gain_last_quarter"], 4)
                                     if pre["mlm_gain_last_quarter"] is not None else nan),
           "train_seconds": round(pre["train_time_s"], 1), "backend": pre["backend"],
           "phase": phase, "selected": 0,
           "steps_per_second": round(pre["steps"] / max(pre["train_time_s"], 1e-9), 3),
           "finetune_seconds": round(sum(d["train_time_s"] for d in down.values()), 1)
           if down else nan, "parameters": pre["parameters"]}
    for task, prefix in zip(TASKS, ("downstream", "pairs")):
        if task in down:
            low, high = bootstrap_ci([int(c) for c in down[task]["correct"]], args.bootstrap)
            row.update({f"{prefix}_accuracy": round(down[task]["accuracy"], 4),
                        f"{prefix}_ci_low": round(low, 4), f"{prefix}_ci_high": round(high, 4)})
        else:
            row.update({f"{prefix}_accuracy": nan, f"{prefix}_ci_low": nan,
                        f"{prefix}_ci_high": nan})
    predictions = {t: d["correct"] for t, d in down.items()}
    return row, predictions


def write_csv(path, rows):
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, path)


def read_csv(path):
    """The rows `write_csv` wrote, with their numbers as numbers."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    missing = [k for k in FIELDS if k not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{path}: not a CSV of this study (no columns {', '.join(missing)}); "
                         "move it away or pass another --results-dir.")
    for r in rows:
        for key in FIELDS:
            if key in INTEGER_FIELDS:
                r[key] = int(r[key]) if r[key] else ""
            elif key not in TEXT_FIELDS:
                r[key] = float(r[key]) if r[key] else float("nan")
    return rows


def _write_json(path, obj):
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as f:
        json.dump(obj, f, indent=0, sort_keys=True)
    os.replace(temporary, path)


def pick_rates(rows, families, size, seed, steps):
    """Each family's sweep rate with the best held-out validation MLM accuracy."""
    best = {}
    for r in rows:
        if (r["family"] in families and r["size"] == size and r["seed"] == seed
                and r["steps"] == steps and r["phase"] == "sweep"):
            f = r["family"]
            if f not in best or r["validation_mlm_accuracy"] > best[f]["validation_mlm_accuracy"]:
                best[f] = r
    return {f: r["learning_rate"] for f, r in best.items()}


RATES_FILE = "pretraining_rates.json"


def saved_rates(args):
    """The rates saved when the sweep finished (`save_rates`), or None where none were saved
    for this size, seed and budget."""
    path = os.path.join(args.results_dir, RATES_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        saved = json.load(f)
    if (saved["size"], saved["seed"], saved["steps"]) != (args.size, args.seeds[0], args.steps):
        return None
    return saved["rates"]


def save_rates(args, rates):
    """Keep the rates picked when the sweep finished: a later rerun of a sweep run (its
    fine-tuning retrains it, with run-to-run noise of ~0.001 MLM on torch) cannot flip a pick
    made by a smaller margin, and the seeds after it stay at the rate the first seed used."""
    _write_json(os.path.join(args.results_dir, RATES_FILE),
                {"size": args.size, "seed": args.seeds[0], "steps": args.steps,
                 "rule": "best held-out validation MLM accuracy of the sweep", "rates": rates})


def study_rates(args, rows):
    """The picked rates: the saved ones, else picked from `rows`."""
    return saved_rates(args) or pick_rates(list(rows), set(args.families), args.size,
                                           args.seeds[0], args.steps)


def extensions(rows, families, rates, args):
    """The rates to add to the sweep: past each family's best rate at an end of its range."""
    ratio = rates[-1] / rates[-2] if len(rates) > 1 else 3.0
    picked = pick_rates(rows, families, args.size, args.seeds[0], args.steps)
    tried = {}
    for r in rows:
        if r["phase"] == "sweep" and r["size"] == args.size:
            tried.setdefault(r["family"], set()).add(float(f"{r['learning_rate']:.6g}"))
    more = []
    for f, rate in picked.items():
        ladder = sorted(tried[f])
        if rate == ladder[-1]:
            more.append((f, float(f"{rate * ratio:.3g}")))
        elif rate == ladder[0] and len(ladder) > 1:
            more.append((f, float(f"{rate / ratio:.3g}")))
    return more


# Every run's validation curve (the plot's lines), kept beside the CSV so that a fresh
# checkout plots the runs it did not train.
CURVES_SUFFIX = "_validation_curves.json"


def validation_curve(history):
    """The validation passes of a run's training history (steps and MLM accuracy)."""
    return {k: history[k] for k in ("val_step", "val_mlm_accuracy") if k in history}


class Study:
    """The finished rows (run directories and committed CSV), written as runs finish."""

    def __init__(self, args, manifest, files):
        self.args, self.manifest, self.files = args, manifest, files
        self.stem = os.path.join(args.results_dir, "pretraining")
        self.rows, self.predictions, self.curves = {}, {}, {}
        self.lock = threading.Lock()
        if os.path.exists(self.stem + ".csv"):
            for r in read_csv(self.stem + ".csv"):
                self.rows[key_of(r)] = r
        if os.path.exists(self.stem + "_predictions.json"):
            with open(self.stem + "_predictions.json") as f:
                self.predictions = {tuple(json.loads(k)): v for k, v in json.load(f).items()}
        if os.path.exists(self.stem + CURVES_SUFFIX):
            with open(self.stem + CURVES_SUFFIX) as f:
                self.curves = {tuple(json.loads(k)): v for k, v in json.load(f).items()}
        for key in self.rows:  # Runs finished before the curves were kept: their run dirs.
            if key not in self.curves:
                path = os.path.join(run_dir_of(args, *key[:3], key[4], key[3], key[5]),
                                    "result.json")
                if os.path.exists(path):
                    with open(path) as f:
                        self.curves[key] = validation_curve(json.load(f)["pretrain"]["history"])

    def done(self, family, size, seed, rate, phase="seeds"):
        """Whether the run is finished (with its fine-tunings where `phase` has them)."""
        key = (family, size, seed, self.args.steps, float(f"{rate:.6g}"),
               objective_of(self.args, family))
        return key in self.rows and (not fine_tuned(family, phase)
                                     or bool(self.predictions.get(key)))

    def train(self, family, size, seed, rate, phase):
        if self.done(family, size, seed, rate, phase):
            return
        result = run_worker(self.args, run_config(self.args, self.files, family, size, seed,
                                                  rate, downstream=fine_tuned(family, phase)))
        row, predictions = row_of(self.args, result, "sweep" if phase == "selected" else phase)
        with self.lock:
            self.rows[key_of(row)] = row
            self.predictions[key_of(row)] = predictions
            self.curves[key_of(row)] = validation_curve(result["pretrain"]["history"])
            self.write()
        print(f"{time.strftime('%H:%M:%S')} {family} {size} seed {seed} lr {rate:g}: "
              f"validation MLM {row['validation_mlm_accuracy']:.4f}, test MLM "
              f"{row['mlm_accuracy']:.4f}, parts {row['downstream_accuracy']:.4f}, pairs "
              f"{row['pairs_accuracy']:.4f}, {row['train_seconds']:.0f}s", flush=True)

    def sorted_rows(self):
        rows = sorted(self.rows.values(), key=lambda r: (
            {"sweep": 0, "seeds": 1, "reference": 2, "extra": 3, "frontier": 4}.get(
                r["phase"], 5), r["family"], r["size"], r["learning_rate"], r["seed"]))
        rates = study_rates(self.args, rows)
        for r in rows:
            r["selected"] = int(r["family"] in rates and r["size"] == self.args.size
                                and math.isclose(r["learning_rate"], rates[r["family"]]))
        return rows

    def write(self):
        os.makedirs(self.args.results_dir, exist_ok=True)
        rows = self.sorted_rows()
        # The predictions first: a CSV row whose run has them is never without them.
        _write_json(self.stem + "_predictions.json",
                    {json.dumps(list(k)): v for k, v in self.predictions.items() if v})
        _write_json(self.stem + CURVES_SUFFIX,
                    {json.dumps(list(k)): v for k, v in self.curves.items() if v})
        write_csv(self.stem + ".csv", rows)
        pretraining_report.write(self.args, self.manifest, rows, self.predictions, self.curves,
                                 self.stem, SIZES)


def fine_tuned(family, phase):
    """Sweep runs are not fine-tuned (the rate is picked on MLM) until picked ("selected");
    keras-hub's models never are."""
    return phase != "sweep" and family not in REFERENCES


def sweep_runs(args, rates_by_family):
    return [(f, args.size, args.seeds[0], rate, "sweep")
            for f in args.families for rate in rates_by_family[f]]


def later_runs(args, rates):
    """The runs after the sweep, at the picked `rates` (first: the picked sweep runs'
    fine-tunings)."""
    runs = [(f, args.size, args.seeds[0], rates[f], "selected") for f in args.families
            if f in rates]
    runs += [(f, args.size, s, rates[f], "seeds") for s in args.seeds[1:]
            for f in args.families if f in rates]
    runs += [(f, args.size, s, rates[REFERENCES[f]], "reference") for s in args.seeds
             for f in args.reference_families if REFERENCES[f] in rates]
    if "fnet" in rates:
        runs += [(f, args.size, args.seeds[0], rates["fnet"], "extra")
                 for f in args.extra_families if f not in args.families]
    runs += [(f, size, args.seeds[0], rates[f], "frontier") for size in args.frontier_sizes
             if size != args.size for f in FRONTIER_FAMILIES if f in rates]
    return runs


def run_all(study, runs):
    args = study.args
    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        futures = [pool.submit(study.train, *r) for r in runs]
        for future in concurrent.futures.as_completed(futures):
            future.result()


def study_plan(args, rows=()):
    """The runs known now: the sweep, and after it (at the rates the rows pick, or at the
    middle sweep rate where the sweep has not finished) the other phases."""
    rates = {f: list(args.learning_rates) for f in args.families}
    picked = study_rates(args, rows)
    middle = args.learning_rates[len(args.learning_rates) // 2]
    return sweep_runs(args, rates) + later_runs(
        args, {f: picked.get(f, middle) for f in args.families})


SPEED_FILE = "pretraining_speed.json"


def measure_speed(args, files):
    """Steps/s of every family at `--size` (`--workers` at a time), saved for `--plan`."""
    families = list(dict.fromkeys(list(args.families) + list(args.extra_families)
                                  + list(args.reference_families)))
    speeds = {}

    def one(family):
        cfg = run_config(args, files, family, args.size, 0, args.learning_rates[0],
                         steps=args.measure_speed, downstream=False)
        cfg["run_dir"] = cfg["run_dir"].replace(os.path.join(args.runs_dir, ""),
                                                os.path.join(args.runs_dir, "speed", ""))
        cfg["eval_every"], cfg["eval_batches"] = args.measure_speed, 2
        result = run_worker(args, cfg)
        speeds[family] = round(result["pretrain"]["steps"] / result["pretrain"]["train_time_s"],
                               3)
        print(f"{family}: {speeds[family]} steps/s", flush=True)

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(one, families))
    path = os.path.join(args.results_dir, SPEED_FILE)
    _write_json(path, {"size": args.size, "backend": args.backend, "workers": args.workers,
                       "steps": args.measure_speed, "steps_per_second": speeds})
    print(f"wrote {path}")


# Per run beyond its steps: process start, data, evaluations, saving (measured on the
# runs of this study, seconds).
RUN_OVERHEAD_S = 90


def estimate(args, runs, done):
    """Wall seconds of the unfinished `runs` on this machine with `--workers`, from the
    measured steps/s (None without a measurement at `--size`). Fine-tuning steps are counted
    as pretraining steps (an upper bound: no vocabulary-wide output)."""
    path = os.path.join(args.results_dir, SPEED_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        speed = json.load(f)
    if speed["size"] != args.size or speed["backend"] != args.backend:
        return None
    sps = speed["steps_per_second"]
    total = 0.0
    for family, size, seed, rate, phase in runs:
        if done(family, size, seed, rate, phase):
            continue
        rate_sps = sps.get(family, min(sps.values())) * (speed["workers"] / args.workers)
        scale = SIZES[size]["hidden_dim"] / SIZES[args.size]["hidden_dim"]
        steps = (0 if phase == "selected" else args.steps) + (
            len(TASKS) * args.finetune_steps if fine_tuned(family, phase) else 0)
        total += steps / (rate_sps / max(scale, 0.25)) + RUN_OVERHEAD_S
    return total / args.workers


def print_plan(args, study, extension_runs):
    runs = study_plan(args, study.rows.values())
    for family, size, seed, rate, phase in runs:
        mark = "done" if study.done(family, size, seed, rate, phase) else "to run"
        print(f"{phase:9s} {family:15s} {size:5s} seed {seed} lr {rate:<7g} {mark}")
    print(f"{len(runs)} runs ({sum(study.done(*r) for r in runs)} done); the sweep may add "
          f"up to {extension_runs} more (a best rate at an end of the range)")
    seconds = estimate(args, runs, study.done)
    if seconds is None:
        print("no steps/s measured at this size and backend: run --measure-speed 30 first")
    else:
        worst = seconds + extension_runs * (seconds / max(len(runs), 1))
        print(f"estimated: {seconds / 3600:.1f} h on this machine with {args.workers} runs at a "
              f"time ({seconds * args.workers / 3600:.1f} CPU-core hours; with every extension "
              f"{worst / 3600:.1f} h)")


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.results_dir, exist_ok=True)
    stem = os.path.join(args.results_dir, "pretraining")
    if args.report_only:
        manifest = pretraining_report.saved_corpus(stem)
        study = Study(args, manifest, None)
        study.write()
        print(f"reported the {len(study.rows)} rows of {stem}.csv")
        return
    manifest, files = prepare_data(args)
    study = Study(args, manifest, files)
    extension_runs = args.max_extensions * len(args.families)
    if args.measure_speed:
        return measure_speed(args, files)
    if args.plan:
        return print_plan(args, study, extension_runs)
    print(f"corpus {args.corpus}: {manifest['paragraphs']} paragraphs; "
          f"{len(study_plan(args))} runs planned on {args.backend}", flush=True)
    start = time.time()
    rates = {f: list(args.learning_rates) for f in args.families}
    picked = saved_rates(args)
    if picked is None:
        picked = sweep(study, rates)
        save_rates(args, picked)
    print(f"rates picked on validation MLM: {picked}", flush=True)
    run_all(study, later_runs(args, picked))
    study.write()
    print(f"wrote {stem}.csv/.md in {time.time() - start:.0f}s")


def sweep(study, rates):
    """Run the sweep (extended past a best rate at an end) and pick each family's rate."""
    args = study.args
    run_all(study, sweep_runs(args, rates))
    for _ in range(args.max_extensions):
        more = extensions(list(study.rows.values()), set(args.families), args.learning_rates,
                          args)
        if not more:
            break
        for f, rate in more:
            rates[f].append(rate)
        run_all(study, [(f, args.size, args.seeds[0], rate, "sweep") for f, rate in more])
    return pick_rates(list(study.rows.values()), set(args.families), args.size, args.seeds[0],
                      args.steps)


if __name__ == "__main__":
    main()
