"""Cross-backend speed and memory of the zoo, against each backend's own limit.

The runner: parses the flags, runs one worker process per (suite, backend)
(`benchmarks.speed_worker`), writes `speed.csv`, then the report
(`benchmarks.speed_report`: `speed.md`, with the targets of
`benchmarks.speed_targets`) and the plots (`benchmarks.speed_plots`).

    python -m benchmarks.speed --threads 2          # as the committed run (guides/benchmarks.md)
    python -m benchmarks.speed --quick              # seconds: toy sizes, smoke test
    python -m benchmarks.speed --suite small --backends torch --models fnet,plain_fnet
    python -m benchmarks.speed --report-only        # redraw speed.md and plots from speed.csv
    python -m benchmarks.speed --out runs/rerun --compare benchmarks/results   # does it reproduce?

Suites (any flag overrides them):

    main     4 layers, hidden 256, feed-forward 1024, 4 heads, length 512, batch 8
    small    2 layers, hidden 128, feed-forward 512, 2 heads, length 512, batch 16
             both: training step and inference of fnet, ff_only, bert, the plain
             framework FNet of the backend (`plain_fnet`), keras-hub FNetBackbone
             and BertBackbone, transformers FNetModel and BertModel (SDPA; torch).
    lengths  the small model at lengths 512 .. 8192 with 8192 tokens per batch
             (batch 16 .. 1): inference and training step of fnet, ff_only, bert,
             linear and performer.
    lengths_batch  the same models' inference at a fixed batch of 2.
    full     all four, in that order.

How things are run (the same for every model of a backend):
  * a classifier on the pooled output (Dense to 2 classes), AdamW (lr 1e-4,
    weight decay 0.01, eps 1e-6), cross-entropy from logits, dropout 0.1,
    vocabulary 1000, one fixed batch of random token ids, no padding;
  * training step = `model.train_on_batch(x, y)`; inference = `predict_on_batch(x)`;
  * JAX and TensorFlow: `jit_compile=True` (XLA); torch: eager;
  * each backend in its own process, with `--threads` CPU threads (torch,
    TensorFlow and XLA thread pools);
  * models of one (backend, length, mode) are timed in interleaved rounds
    (A B C A B C ...): min, median and max of every cell, the machine's load
    while it ran, and a second timing when a spread is above `--max-spread`.
"""

import argparse
import os
import time

from benchmarks import common, speed_report
from benchmarks.speed_worker import REFERENCES, SOURCES, VARIANTS, batch_for

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# The zoo's families are read from its registry by each worker (this process imports no Keras):
# a name the worker cannot build ends the run with the valid names.
MODELS_HELP = (f"comma-separated models: families of the zoo (keras_fnet.FAMILIES, e.g. fnet, "
               f"bert, ff_only), variants {list(VARIANTS)}, references {list(REFERENCES)}")
AT_512 = ["fnet", "ff_only", "bert", "plain_fnet", "keras_hub_fnet", "keras_hub_bert", "hf_bert"]
BY_LENGTH = ["fnet", "ff_only", "bert", "linear", "performer"]
LENGTHS = [512, 1024, 2048, 4096, 8192]
SMALL = dict(num_layers=2, hidden_dim=128, intermediate_dim=512, num_heads=2)
# Overridden by --rounds, --budget, --time-limit.
TIMING = dict(rounds=7, budget=60.0, time_limit=30.0)
SWEEP = dict(rounds=3, budget=25.0, time_limit=8.0)
SUITES = {
    "main": dict(TIMING, lengths=[512], num_layers=4, hidden_dim=256, intermediate_dim=1024,
                 num_heads=4, batch=8, tokens=None, modes=["train", "infer"], models=AT_512),
    "small": dict(SMALL, **TIMING, lengths=[512], batch=16, tokens=None, modes=["train", "infer"],
                  models=AT_512),
    "lengths": dict(SMALL, **SWEEP, lengths=LENGTHS, batch=None, tokens=8192,
                    modes=["infer", "train"], models=BY_LENGTH),
    "lengths_batch": dict(SMALL, **SWEEP, lengths=LENGTHS, batch=2, tokens=None, modes=["infer"],
                          models=BY_LENGTH),
}
COLUMNS = ["suite", "backend", "model", "source", "mode", "length", "batch", "num_layers",
           "hidden_dim", "intermediate_dim", "num_heads", "vocabulary_size", "dtype", "threads",
           "jit", "fourier", "status", "flags", "median_ms", "min_ms", "max_ms", "spread",
           "rounds", "reruns", "times_ms", "tokens_per_s", "first_step_s", "rss_growth_mb",
           "peak_rss_mb", "device_peak_mb", "load_avg", "others_cpu", "steal_pct"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="full", choices=list(SUITES) + ["full"],
                   help="preset of sizes, lengths and models (flags below override it)")
    p.add_argument("--backends", default=",".join(common.BACKENDS),
                   help="comma-separated Keras backends, each run in its own process")
    p.add_argument("--models", help=MODELS_HELP)
    p.add_argument("--lengths", help="comma-separated sequence lengths")
    p.add_argument("--batch", type=int, help="fixed batch size (overrides --tokens)")
    p.add_argument("--tokens", type=int, help="tokens per batch: batch = max(1, tokens // length)")
    p.add_argument("--num-layers", type=int, help="encoder blocks")
    p.add_argument("--hidden-dim", type=int, help="hidden size")
    p.add_argument("--intermediate-dim", type=int, help="feed-forward size")
    p.add_argument("--num-heads", type=int, help="attention heads (bert, performer, hybrid)")
    p.add_argument("--vocabulary-size", type=int, default=1000,
                   help="vocabulary (small, so that embedding gradients do not dominate)")
    p.add_argument("--modes", help="comma-separated: train, infer")
    p.add_argument("--dtype", default="float32",
                   help="Keras dtype policy, e.g. float32 or mixed_bfloat16 (transformers rows: "
                        "autocast to bfloat16 on GPU)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads per worker (0: the frameworks' defaults, all cores). On a "
                        "shared machine use 1: a multi-threaded step waits for every thread, so "
                        "one descheduled thread stalls it")
    p.add_argument("--nice", type=int, default=0,
                   help="CPU priority of the workers (as `nice`; negative needs root): on a "
                        "machine shared with other jobs, -10 keeps their load from stretching "
                        "the timed steps")
    p.add_argument("--rounds", type=int, help="interleaved timing rounds (suite's default: 7, or 3 "
                                              "for the length sweeps)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per model after compiling")
    p.add_argument("--max-spread", type=float, default=0.15,
                   help="(max - min) / median above which a group of cells is timed again, and "
                        "marked 'wide' if it still is")
    p.add_argument("--time-limit", type=float,
                   help="seconds a single warm step may take (suite's default: 30, or 8 for the "
                        "length sweeps); slower models are recorded as 'timeout' and not timed "
                        "(nor run at longer lengths)")
    p.add_argument("--budget", type=float,
                   help="seconds of timing rounds per (backend, length, mode) (suite's default: "
                        "60, or 25 for the length sweeps); fewer rounds (at least 3) are run when "
                        "they would take longer")
    p.add_argument("--max-memory-gb", type=float, default=12.0,
                   help="models whose attention matrices alone are estimated above this are "
                        "recorded as 'oom (estimated)' instead of run")
    p.add_argument("--worker-timeout", type=float, default=1500.0,
                   help="seconds one backend's worker may run before it is killed")
    p.add_argument("--out", default=RESULTS, help="folder for speed.csv, speed.md, speed_*.png")
    p.add_argument("--append", action="store_true",
                   help="add to the existing speed.csv instead of replacing it")
    p.add_argument("--quick", action="store_true",
                   help="toy sizes for a smoke test (length 16, or 16,32 for the length suites; "
                        "1 layer, hidden 16, 2 rounds, no second timing)")
    p.add_argument("--report-only", action="store_true",
                   help="only redraw speed.md and the plots from the existing speed.csv")
    p.add_argument("--compare", metavar="DIR",
                   help="also write speed_reproduction.md in --out: which cells and target ratios "
                        "of this run fall within the spread of DIR/speed.csv (a reference run)")
    return p.parse_args(argv)


def suite_specs(args):
    """The worker specs (one per suite) that the flags describe."""
    names = list(SUITES) if args.suite == "full" else [args.suite]
    specs = []
    for name in names:
        spec = dict(SUITES[name], suite=name)
        if args.quick:
            spec.update(lengths=[16] if len(spec["lengths"]) == 1 else [16, 32], num_layers=1,
                        hidden_dim=16, intermediate_dim=32, num_heads=2, batch=2, tokens=None)
        overrides = dict(models=args.models, lengths=args.lengths, modes=args.modes)
        for key, value in overrides.items():
            if value:
                spec[key] = [int(v) if key == "lengths" else v for v in value.split(",")]
        for key in ("num_layers", "hidden_dim", "intermediate_dim", "num_heads", "rounds",
                    "time_limit", "budget"):
            if getattr(args, key) is not None:
                spec[key] = getattr(args, key)
        if args.batch:
            spec.update(batch=args.batch, tokens=None)
        elif args.tokens:
            spec.update(batch=None, tokens=args.tokens)
        spec.update(vocabulary_size=args.vocabulary_size, dtype=args.dtype, threads=args.threads,
                    nice=args.nice, warmup=args.warmup, max_spread=args.max_spread,
                    max_memory_gb=args.max_memory_gb)
        if args.quick:
            spec.update(rounds=2, warmup=1, max_spread=float("inf"))
        specs.append(spec)
    return specs


def expected_rows(spec, backend):
    """(model, length, mode) the worker should report, to record the ones it did not."""
    for length in spec["lengths"]:
        for mode in spec["modes"]:
            for name in spec["models"]:
                if SOURCES.get(name) != "transformers" or backend == "torch":
                    yield name, length, mode


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    csv_path = os.path.join(args.out, "speed.csv")
    if args.compare and not os.path.exists(os.path.join(args.compare, "speed.csv")):
        raise SystemExit(f"speed: --compare {args.compare}: no speed.csv there")
    if args.report_only:
        speed_report.write(args.out)
        _compare(args)
        return
    unknown = set(args.backends.split(",")) - set(common.BACKENDS)
    if unknown:
        raise SystemExit(f"speed: unknown backends {sorted(unknown)}; choose from "
                         f"{', '.join(common.BACKENDS)}")
    rows = common.read_csv(csv_path) if args.append and os.path.exists(csv_path) else []
    machine = common.machine_description()
    start = time.time()
    for spec in suite_specs(args):
        for backend in args.backends.split(","):
            print(f"== suite {spec['suite']}, backend {backend}, lengths {spec['lengths']}, "
                  f"models {spec['models']} ({time.time() - start:.0f}s)", flush=True)
            got, status = common.run_worker("benchmarks.speed_worker", backend, spec,
                                            timeout_s=args.worker_timeout, threads=args.threads,
                                            log=lambda line: print(line, flush=True))
            seen = {(r["model"], r["length"], r["mode"]) for r in got}
            for name, length, mode in expected_rows(spec, backend):
                if (name, length, mode) not in seen:
                    got.append(dict(suite=spec["suite"], backend=backend, model=name, mode=mode,
                                    length=length, batch=batch_for(spec, length),
                                    status=f"killed ({status})" if status != "ok" else "missing"))
            if status == "exit 2":  # The worker refused the spec (its error is above).
                raise SystemExit(f"speed: the {backend} worker refused --models "
                                 f"{','.join(spec['models'])} (see its error above)")
            if status != "ok":
                print(f"[{backend}] worker ended: {status}", flush=True)
            rows += got
            common.write_csv(csv_path, rows, COLUMNS)
    machine["threads"] = args.threads or "framework default"
    machine["nice"] = args.nice
    machine["wall_s"] = round(time.time() - start)
    common.write_json(os.path.join(args.out, "speed_machine.json"), machine)
    speed_report.write(args.out, machine)
    _compare(args)
    print(f"wrote {args.out}/speed.csv, speed.md and plots in {time.time() - start:.0f}s")


def _compare(args):
    if args.compare:
        text = speed_report.write_reproduction(args.out, args.compare)
        print("\n".join(line for line in text.splitlines() if line.startswith("- ")))


if __name__ == "__main__":
    main()
