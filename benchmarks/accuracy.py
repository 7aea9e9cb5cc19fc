"""Accuracy study: every family of the zoo on the same task, budget and tuning.

    python -m benchmarks.accuracy                      # the committed ListOps study
    python -m benchmarks.accuracy --quick              # a minutes-long check
    python -m benchmarks.accuracy --help

Each run is one `training.run.train(spec)` call (the API behind `python -m
training.train`) in a fresh process of its backend, with the same size, steps,
batch, learning rate and schedule for every family; only the model
`<family>_<size>` changes. Runs are interleaved (seed by seed, every family in
turn) so that load on the machine spreads over all families. A finished run is
reported from its run directory without training again, so an interrupted
study picks up where it stopped.

Then the same config and seed trains on the other backends, and their loss
curves (from the runs' TensorBoard scalars) are plotted together.

Writes `benchmarks/results/accuracy_<task>.{csv,md,png}` and
`accuracy_<task>_backends.{csv,png}`. The CSV has one row per run
(`task,model,seed,accuracy,train_seconds,steps,backend`) plus `model=majority`
rows: the majority-class accuracy of each seed's test split.
"""

import argparse
import csv
import glob
import os
import statistics
import time

from benchmarks import common
from keras_fnet.config import FAMILIES as ZOO_FAMILIES

FAMILIES = tuple(ZOO_FAMILIES)
FIELDS = ("task", "model", "seed", "accuracy", "train_seconds", "steps", "backend")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.accuracy",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--task", default="listops", help="listops or pathfinder (Pathfinder-32)")
    p.add_argument("--families", nargs="+", default=list(FAMILIES), help="model families to train")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                   help="seeds (weights, data, order)")
    p.add_argument("--size", default="tiny", help="preset size of every family")
    p.add_argument("--num-layers", type=int, default=2, help="blocks of every model")
    p.add_argument("--hidden-dim", type=int, default=64, help="hidden width of every model")
    p.add_argument("--intermediate-dim", type=int, default=128, help="feed-forward width")
    p.add_argument("--num-heads", type=int, default=2, help="heads (bert, performer, hybrid)")
    p.add_argument("--steps", type=int, default=500, help="optimizer steps of every run")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of every run")
    p.add_argument("--max-length", type=int, default=128, help="sequence length")
    p.add_argument("--num-train-examples", type=int, default=12000,
                   help="generated training examples")
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="peak learning rate of every run")
    p.add_argument("--backend", default="jax", choices=common.BACKENDS,
                   help="backend of the main study")
    p.add_argument("--cross-backend-family", default="fnet",
                   help="family trained on every backend for the agreement check ('' to skip)")
    p.add_argument("--cross-backend-seeds", nargs="+", type=int, default=[0],
                   help="seeds of the cross-backend runs")
    p.add_argument("--runs-dir", default="runs/accuracy", help="where the training runs go")
    p.add_argument("--data-dir", default="runs/accuracy/data", help="cache of the generated data")
    p.add_argument("--results-dir", default="benchmarks/results", help="where the CSV/MD/PNG go")
    p.add_argument("--quick", action="store_true",
                   help="3 families, 1 seed, 30 steps, tiny data: checks the pipeline in minutes")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite accuracy_<task>.md from the CSVs in --results-dir (give the "
                        "study's flags: the report states them); the plots are kept")
    args = p.parse_args(argv)
    if args.quick:
        args.families = ([f for f in ("fnet", "ff_only", "bert") if f in args.families]
                         or args.families[:1])
        args.seeds, args.cross_backend_seeds = args.seeds[:1], args.seeds[:1]
        args.steps, args.num_train_examples, args.max_length = 30, 400, 64
    unknown = sorted(set(args.families) - set(FAMILIES))
    if unknown:
        p.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    return args


def run_dir(args, backend, family, seed):
    return os.path.join(args.runs_dir, args.task, backend, f"{family}_s{seed}")


def run_spec(args, backend, family, seed):
    """The `training.spec.RunSpec` of one run of the study."""
    from training.spec import RunSpec

    return RunSpec(
        task=args.task, model=f"{family}_{args.size}", num_layers=args.num_layers,
        hidden_dim=args.hidden_dim, intermediate_dim=args.intermediate_dim,
        num_heads=args.num_heads, steps=args.steps, batch_size=args.batch_size,
        max_length=args.max_length, num_train_examples=args.num_train_examples,
        learning_rate=args.learning_rate, seed=seed, data_dir=args.data_dir,
        output_dir=run_dir(args, backend, family, seed), checkpoint_every=0, log_every=10,
        verbose=0)


def train_once(args, backend, family, seed):
    """One training run through `training.run.train`, in a fresh process for its backend.
    A finished run is not trained again: the API returns its stored results."""
    from training import run

    return run.train_in_subprocess(run_spec(args, backend, family, seed), backend=backend,
                                   env={"TF_CPP_MIN_LOG_LEVEL": "3"})


def row(args, family, seed, metrics):
    return {"task": args.task, "model": family, "seed": seed,
            "accuracy": round(metrics["metrics"]["accuracy"], 4),
            "train_seconds": round(metrics["train_time_s"], 1), "steps": metrics["steps"],
            "backend": metrics["backend"]}


def loss_curve(path):
    """(steps, losses) of a run's TensorBoard training scalars."""
    import numpy as np
    import tensorflow as tf

    points = {}
    for event_file in sorted(glob.glob(os.path.join(path, "logs", "train", "events.*"))):
        for event in tf.compat.v1.train.summary_iterator(event_file):
            for value in event.summary.value:
                if value.tag == "loss":
                    points[event.step] = float(tf.make_ndarray(value.tensor))
    steps = sorted(points)
    return np.array(steps), np.array([points[s] for s in steps])


def write_csv(path, rows):
    common.write_csv(path, rows, FIELDS)


def read_csv(path):
    """The rows `write_csv` wrote, with their numbers as numbers."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["accuracy"] = float(r["accuracy"])
        r["train_seconds"] = float(r["train_seconds"]) if r["train_seconds"] != "" else ""
    return rows


def summarize(args, rows, cross_rows, plots=()):
    """Markdown: mean and spread per family, relative to FNet and the majority class.

    `plots`: `(file name, caption)` of the plots drawn beside the report."""
    by_model = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    fnet_rows = by_model.get("fnet", [{"accuracy": float("nan")}])
    fnet = statistics.mean(r["accuracy"] for r in fnet_rows)
    lines = [
        f"# Accuracy study: {args.task}",
        "",
        f"Every family: {args.num_layers} layers, hidden {args.hidden_dim}, feed-forward "
        f"{args.intermediate_dim}, {args.num_heads} heads, length {args.max_length}, "
        f"{args.steps} steps of batch {args.batch_size}, peak learning rate {args.learning_rate} "
        f"(10% warm-up, linear decay), {args.num_train_examples} generated training examples, "
        f"seeds {', '.join(map(str, args.seeds))}, backend {args.backend}. Accuracy on each seed's "
        "generated test split.",
        "",
        "| model | accuracy (mean) | min | max | vs fnet | train seconds (mean) |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(by_model, key=lambda m: -statistics.mean(r["accuracy"] for r in by_model[m]))
    for model in order:
        accs = [r["accuracy"] for r in by_model[model]]
        mean = statistics.mean(accs)
        secs = [r["train_seconds"] for r in by_model[model] if r["train_seconds"] != ""]
        seconds = f"{statistics.mean(secs):.0f}" if secs else "-"
        lines.append(f"| {model} | {mean:.4f} | {min(accs):.4f} | {max(accs):.4f} | "
                     f"{mean / fnet:.2f}x | {seconds} |")
    if cross_rows:
        lines += ["", "Cross-backend agreement (same config and seed):", "",
                  "| backend | model | seed | accuracy | train seconds |", "|---|---|---|---|---|"]
        lines += [f"| {r['backend']} | {r['model']} | {r['seed']} | {r['accuracy']:.4f} | "
                  f"{r['train_seconds']:.0f} |" for r in cross_rows]
    for name, caption in plots:
        lines += ["", f"![{caption}]({name})"]
    return "\n".join(lines) + "\n"


def plots_beside(stem):
    """The plots of a study that exist beside `stem`.md, with their captions."""
    captions = [(".png", "accuracy against training time"),
                ("_backends.png", "loss curves of the same run on each backend")]
    return [(os.path.basename(stem + suffix), caption) for suffix, caption in captions
            if os.path.exists(stem + suffix)]


def write_report(args, stem, rows, cross_rows):
    """`<stem>.md`, written whole, linking the plots that exist."""
    from benchmarks import common

    common.write_text(stem + ".md", summarize(args, rows, cross_rows, plots_beside(stem)))


def plot(args, rows, cross_runs, path, backends_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    majority = [r["accuracy"] for r in rows if r["model"] == "majority"]
    for i, family in enumerate(f for f in FAMILIES if f in args.families):
        runs = [r for r in rows if r["model"] == family]
        if not runs:
            continue
        color = plt.cm.tab10(i % 10)
        xs, ys = [r["train_seconds"] for r in runs], [r["accuracy"] for r in runs]
        ax.scatter(xs, ys, color=color, alpha=0.35, s=18)
        mx, my = statistics.mean(xs), statistics.mean(ys)
        ax.errorbar(mx, my, yerr=[[my - min(ys)], [max(ys) - my]], fmt="o", color=color,
                    capsize=3, label=family)
    if majority:
        ax.axhline(statistics.mean(majority), color="gray", linestyle="--", label="majority class")
    ax.set_xlabel(f"training time (s, {args.steps} steps, {args.backend}, 2-core CPU)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{args.task}: accuracy vs training time (mean, min-max over seeds)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    common.save_figure(fig, path, dpi=120)

    if cross_runs:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for backend, seed, out in cross_runs:
            steps, losses = loss_curve(out)
            ax.plot(steps, losses, label=f"{backend} (seed {seed})")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title(f"{args.task}: {args.cross_backend_family} on each backend, "
                     "same config and seed")
        ax.legend()
        fig.tight_layout()
        common.save_figure(fig, backends_path, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.results_dir, exist_ok=True)
    stem = os.path.join(args.results_dir, f"accuracy_{args.task}")
    if args.report_only:
        cross_csv = stem + "_backends.csv"
        cross_rows = read_csv(cross_csv) if os.path.exists(cross_csv) else []
        write_report(args, stem, read_csv(stem + ".csv"), cross_rows)
        print(f"wrote {stem}.md")
        return
    plan = [(args.backend, family, seed) for seed in args.seeds for family in args.families]
    cross = []
    if args.cross_backend_family:
        cross = [(backend, args.cross_backend_family, seed) for seed in args.cross_backend_seeds
                 for backend in common.BACKENDS]
        plan += [p for p in cross if p not in plan]
    rows, majority, start = [], {}, time.time()
    for i, (backend, family, seed) in enumerate(plan, 1):
        metrics = train_once(args, backend, family, seed)
        print(f"[{i}/{len(plan)}] {backend:10s} {family:12s} seed {seed}: accuracy "
              f"{metrics['metrics']['accuracy']:.4f} "
              f"(majority {metrics['majority_baseline']:.4f}), "
              f"train {metrics['train_time_s']:.0f}s; study {time.time() - start:.0f}s",
              flush=True)
        if backend == args.backend:
            rows.append(row(args, family, seed, metrics))
            majority[seed] = metrics["majority_baseline"]
    rows += [{"task": args.task, "model": "majority", "seed": seed, "accuracy": round(acc, 4),
              "train_seconds": "", "steps": 0, "backend": ""}
             for seed, acc in sorted(majority.items())]
    cross_rows = [row(args, family, seed, train_once(args, backend, family, seed))
                  for backend, family, seed in cross]

    write_csv(stem + ".csv", rows)
    if cross_rows:
        write_csv(stem + "_backends.csv", cross_rows)
    plot(args, rows, [(b, s, run_dir(args, b, f, s)) for b, f, s in cross], stem + ".png",
         stem + "_backends.png")
    write_report(args, stem, rows, cross_rows)
    print(open(stem + ".md").read())
    print(f"wrote {stem}.csv/.md/.png in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
