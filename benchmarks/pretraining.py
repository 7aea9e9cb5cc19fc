"""Pretraining study: every family pretrained with MLM + NSP on real English prose, then fine-tuned.

    python -m benchmarks.pretraining                 # the committed study (guides/benchmarks.md)
    python -m benchmarks.pretraining --quick         # a minutes-long check of the pipeline
    python -m benchmarks.pretraining --corpus DIR    # another reStructuredText/text corpus

The corpus (default: the Python documentation sources of Debian's `python3-doc`)
becomes prose paragraphs, 15% of them held out, and a SentencePiece vocabulary
trained on the rest (`benchmarks.pretraining_corpus`). Each run is then two
calls of the training API (`training.run.train`, the code behind `python -m
training.train`), each in a fresh process of the backend:

1. `--task pretrain --corpus pretrain.txt --corpus-validation heldout.txt`:
   MLM + NSP, the paper's objective, with the same steps, batch, length and
   learning-rate schedule for every family; only the model changes. Held-out
   MLM and NSP accuracy come from the held-out paragraphs.
2. `--task text_classification --init-from <the pretrained model>`: which part
   of the documentation (`library`, `c-api`, `whatsnew`, ...) a paragraph
   comes from; the test paragraphs are held-out ones.

Runs are interleaved (seed by seed, every family in turn, then the other
sizes), `--workers` at a time, so that machine load spreads over all
families; a finished run is read back from its run directory, so an
interrupted study resumes where it stopped. Writes `pretraining.{csv,md}` and plots
(`pretraining_curves.png`, `pretraining_pareto.png`,
`pretraining_ordering.png`) to `--results-dir`.
"""

import argparse
import concurrent.futures
import csv
import os
import statistics
import time

from benchmarks import pretraining_corpus
from keras_fnet.config import FAMILIES

BACKENDS = ("tensorflow", "jax", "torch")
FIELDS = ("family", "size", "seed", "steps", "mlm_accuracy", "nsp_accuracy",
          "downstream_accuracy", "train_seconds", "backend", "steps_per_second",
          "finetune_seconds", "parameters")

# The sizes of the study: depth, width, feed-forward width, heads. Four blocks
# everywhere, so that `fnet_hybrid` (attention in the top two) is not BERT.
SIZES = {
    "xs": dict(num_layers=4, hidden_dim=32, intermediate_dim=128, num_heads=2),
    "small": dict(num_layers=4, hidden_dim=64, intermediate_dim=256, num_heads=2),
    "medium": dict(num_layers=4, hidden_dim=128, intermediate_dim=512, num_heads=2),
}
SEEDED_FAMILIES = ("bert", "fnet", "linear", "random", "ff_only", "fnet_hybrid")
FRONTIER_FAMILIES = ("bert", "fnet", "linear", "ff_only")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.pretraining",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--corpus", default=pretraining_corpus.DEFAULT_SOURCE,
                   help=f"folder of .rst/.rst.txt/.txt files; default: "
                        f"{pretraining_corpus.SOURCE_HINT}")
    p.add_argument("--families", nargs="+", default=list(FAMILIES),
                   help="families pretrained at --size with the first seed")
    p.add_argument("--size", default="small", choices=SIZES, help="size of every family")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                   help="seeds of --seeded-families (the others: the first seed)")
    p.add_argument("--seeded-families", nargs="*", default=list(SEEDED_FAMILIES),
                   help="families run with every seed")
    p.add_argument("--frontier-sizes", nargs="*", default=["xs", "medium"], choices=SIZES,
                   help="more sizes, for the speed-accuracy frontier (first seed)")
    p.add_argument("--frontier-families", nargs="*", default=list(FRONTIER_FAMILIES),
                   help="families run at --frontier-sizes")
    p.add_argument("--steps", type=int, default=500, help="pretraining steps of every run")
    p.add_argument("--batch-size", type=int, default=32, help="batch of every run")
    p.add_argument("--max-length", type=int, default=64,
                   help="sequence length (the paragraphs average ~45 tokens)")
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="peak pretraining learning rate (10%% warm-up, linear decay)")
    p.add_argument("--eval-steps", type=int, default=50,
                   help="held-out batches of the final MLM/NSP evaluation")
    p.add_argument("--finetune-steps", type=int, default=300, help="downstream steps")
    p.add_argument("--finetune-learning-rate", type=float, default=1e-3,
                   help="downstream peak learning rate")
    p.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece pieces")
    p.add_argument("--downstream-classes", type=int, default=5,
                   help="downstream classes: the corpus parts (top folders) with most paragraphs")
    p.add_argument("--per-class", type=int, nargs=3, default=[1000, 100, 190],
                   metavar=("TRAIN", "VALIDATION", "TEST"),
                   help="downstream paragraphs per class and split")
    p.add_argument("--held-out-fraction", type=float, default=0.15,
                   help="fraction of the paragraphs held out from pretraining")
    p.add_argument("--data-seed", type=int, default=0,
                   help="seed of the held-out paragraphs and the downstream sample")
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="backend of every run (torch is the fastest on this CPU)")
    p.add_argument("--workers", type=int, default=2,
                   help="runs training at once (each gets cores/workers threads)")
    p.add_argument("--runs-dir", default="runs/pretraining", help="where the runs go")
    p.add_argument("--data-dir", default=None,
                   help="the prepared corpus (default: <runs-dir>/data)")
    p.add_argument("--results-dir", default="benchmarks/results",
                   help="where the CSV/MD/PNG go")
    p.add_argument("--report-only", action="store_true",
                   help="tables and plots from the finished runs (or, with none in --runs-dir, "
                        "from --results-dir/pretraining.csv); train nothing")
    p.add_argument("--quick", action="store_true",
                   help="3 families, 1 seed, 1 size, 20 steps: checks the pipeline in minutes")
    args = p.parse_args(argv)
    if args.quick:
        args.families = [f for f in ("fnet", "ff_only", "bert") if f in args.families] \
            or args.families[:1]
        args.seeds, args.frontier_sizes = args.seeds[:1], []
        args.steps, args.finetune_steps, args.eval_steps = 20, 10, 2
    for name in ("families", "seeded_families", "frontier_families"):
        unknown = sorted(set(getattr(args, name)) - set(FAMILIES))
        if unknown:
            p.error(f"--{name.replace('_', '-')}: unknown families {unknown}; choose from "
                    f"{', '.join(FAMILIES)}")
    for name in ("steps", "batch_size", "max_length", "eval_steps", "finetune_steps",
                 "vocab_size", "workers", "downstream_classes"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= 1")
    if min(args.per_class) < 1:
        p.error(f"--per-class {args.per_class}: every count must be >= 1")
    if not 0 < args.held_out_fraction < 1:
        p.error(f"--held-out-fraction {args.held_out_fraction}: must be between 0 and 1")
    if not args.seeds:
        p.error("--seeds: give at least one seed")
    args.data_dir = args.data_dir or os.path.join(args.runs_dir, "data")
    return args


def plan(args):
    """The runs, interleaved: (family, size, seed) in the order they train."""
    first = args.seeds[0]
    runs = [(f, args.size, first) for f in args.families]
    for seed in args.seeds[1:]:
        runs += [(f, args.size, seed) for f in args.families if f in args.seeded_families]
    for size in args.frontier_sizes:
        if size != args.size:
            runs += [(f, size, first) for f in args.families if f in args.frontier_families]
    return runs


def run_dirs(args, family, size, seed):
    """The pretraining run's directory and the fine-tuning's (one per fine-tuning setting)."""
    base = os.path.join(args.runs_dir, args.backend, f"{family}_{size}_s{seed}")
    downstream = f"finetune_{args.finetune_steps}steps_lr{args.finetune_learning_rate:g}"
    return os.path.join(base, "pretrain"), os.path.join(base, downstream)


def pretrain_spec(args, files, family, size, seed):
    from training.spec import RunSpec

    return RunSpec(
        task="pretrain", model=f"{family}_tiny", **SIZES[size], corpus=[files["pretrain"]],
        corpus_validation=[files["heldout"]], vocabulary=files["vocabulary"],
        max_length=args.max_length, batch_size=args.batch_size, steps=args.steps,
        learning_rate=args.learning_rate, seed=seed, eval_every=0, checkpoint_every=0,
        eval_steps=args.eval_steps, log_every=10, verbose=0,
        output_dir=run_dirs(args, family, size, seed)[0])


def finetune_spec(args, files, family, size, seed):
    from training.run import MODEL_FILE
    from training.spec import RunSpec

    pretrain_dir, out = run_dirs(args, family, size, seed)
    return RunSpec(
        task="text_classification", init_from=os.path.join(pretrain_dir, MODEL_FILE),
        vocabulary=files["vocabulary"],  # The pretraining's: the embeddings' token ids.
        train_file=files["downstream_train"], validation_file=files["downstream_validation"],
        test_file=files["downstream_test"], max_length=args.max_length,
        batch_size=args.batch_size, steps=args.finetune_steps,
        learning_rate=args.finetune_learning_rate, seed=seed, eval_every=0,
        checkpoint_every=0, log_every=10, verbose=0, output_dir=out)


def _train(args, spec):
    """A finished run's stored results, or the run trained (resumed) in a fresh process."""
    from training import run

    threads = str(max(1, (os.cpu_count() or 1) // args.workers))
    return run.finished_results(spec) or run.train_in_subprocess(
        spec, backend=args.backend, env={"TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": threads})


def run_one(args, files, family, size, seed):
    """Pretrain, then fine-tune downstream: one row of the study."""
    pretrained = _train(args, pretrain_spec(args, files, family, size, seed))
    finetuned = _train(args, finetune_spec(args, files, family, size, seed))
    return row(family, size, seed, pretrained, finetuned), pretrained["history"]


def row(family, size, seed, pretrained, finetuned):
    """One CSV row; `finetuned` None (not run yet) leaves the downstream cells NaN."""
    seconds = pretrained["train_time_s"]
    nan = float("nan")
    return {
        "family": family, "size": size, "seed": seed, "steps": pretrained["steps"],
        "mlm_accuracy": round(pretrained["metrics"]["mlm_accuracy"], 4),
        "nsp_accuracy": round(pretrained["metrics"]["nsp_accuracy"], 4),
        "downstream_accuracy": round(finetuned["metrics"]["accuracy"], 4) if finetuned else nan,
        "train_seconds": round(seconds, 1), "backend": pretrained["backend"],
        "steps_per_second": round(pretrained["steps"] / seconds, 3),
        "finetune_seconds": round(finetuned["train_time_s"], 1) if finetuned else nan,
        "parameters": pretrained.get("parameters", ""),
    }


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
        rows = list(csv.DictReader(f))
    for r in rows:
        for key in ("seed", "steps"):
            r[key] = int(r[key])
        for key in ("mlm_accuracy", "nsp_accuracy", "downstream_accuracy", "train_seconds",
                    "steps_per_second", "finetune_seconds"):
            r[key] = float(r[key])
        r["parameters"] = int(r["parameters"]) if r["parameters"] else ""
    return rows


def report_finished(args, manifest, files, runs):
    """Tables and plots from the finished pretraining runs, without training; a run whose
    fine-tuning has not finished has no downstream accuracy (NaN)."""
    from benchmarks import pretraining_report
    from training import run

    rows, curves = [], {}
    for family, size, seed in runs:
        pretrained = run.finished_results(pretrain_spec(args, files, family, size, seed))
        if pretrained is None:
            continue
        finetuned = run.finished_results(finetune_spec(args, files, family, size, seed))
        rows.append(row(family, size, seed, pretrained, finetuned))
        curves[(family, size, seed)] = pretrained["history"]
    stem = os.path.join(args.results_dir, "pretraining")
    if not rows and os.path.exists(stem + ".csv"):
        # No run directories here (another machine made the runs): report the committed rows.
        rows = read_csv(stem + ".csv")
        print(f"no finished runs in {args.runs_dir}: reporting the {len(rows)} rows of "
              f"{stem}.csv (the curves plot is kept)")
        return pretraining_report.write(args, manifest, rows, curves, stem)
    print(f"reporting {len(rows)} finished runs of {len(runs)} "
          f"({sum(r['downstream_accuracy'] == r['downstream_accuracy'] for r in rows)} "
          "fine-tuned)")
    write_csv(stem + ".csv", rows)
    pretraining_report.write(args, manifest, rows, curves, stem)


def main(argv=None):
    args = parse_args(argv)
    from benchmarks import pretraining_report

    os.makedirs(args.results_dir, exist_ok=True)
    saved = pretraining_report.saved_corpus(os.path.join(args.results_dir, "pretraining"))
    if args.report_only and saved is not None:
        manifest = saved  # The corpus of the committed runs, which this machine may not have.
    else:
        manifest = pretraining_corpus.prepare(
            args.corpus, args.data_dir, vocab_size=args.vocab_size, seed=args.data_seed,
            held_out_fraction=args.held_out_fraction, num_classes=args.downstream_classes,
            per_class=tuple(args.per_class))
    files = pretraining_corpus.paths(args.data_dir)
    runs = plan(args)
    print(f"corpus {args.corpus}: {manifest['paragraphs']} paragraphs, "
          f"{manifest['words']} words; {len(runs)} runs on {args.backend}", flush=True)
    if args.report_only:
        return report_finished(args, manifest, files, runs)
    rows, curves, start = {}, {}, time.time()
    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run_one, args, files, *r): r for r in runs}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            family, size, seed = key = futures[future]
            r, curve = future.result()
            rows[key], curves[key] = r, curve
            elapsed = time.time() - start
            print(f"[{done}/{len(runs)}] {family:12s} {size:6s} seed {seed}: MLM "
                  f"{r['mlm_accuracy']:.4f} NSP {r['nsp_accuracy']:.4f} downstream "
                  f"{r['downstream_accuracy']:.4f}, {r['train_seconds']:.0f}s "
                  f"({r['steps_per_second']:.2f} steps/s); study {elapsed / 60:.0f} min, about "
                  f"{elapsed / done * (len(runs) - done) / 60:.0f} min left", flush=True)
    rows = [rows[r] for r in runs]
    stem = os.path.join(args.results_dir, "pretraining")
    write_csv(stem + ".csv", rows)
    pretraining_report.write(args, manifest, rows, curves, stem)
    print(f"wrote {stem}.csv/.md and plots in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
