"""JAX on CPU: does an XLA flag or the thread count bring fnet to its limit?

On this CPU JAX is the slowest backend and its FFT costs the most (see the
speed report, benchmarks/results/speed.md). This runs the speed worker's fnet, plain JAX FNet
(`plain_fnet`) and ff_only at a suite's shape once per configuration, each in
its own process (XLA reads its flags when it starts). Within a configuration
the three models are timed in interleaved rounds, so fnet / plain_fnet (the
distance to the backend's limit) and fnet / ff_only (the FFT's share) come
from the same rounds. The default configuration runs first and again last: the
drift between those two runs is the smallest difference a configuration's
medians can show.

    python -m benchmarks.jax_cpu --suite small
    python -m benchmarks.jax_cpu --configs default,onednn --quick

Writes `jax_cpu_<suite>.csv` (the worker's rows with a `config` column) and
`jax_cpu_<suite>.md`. A flag that this jaxlib refuses ends its worker: the
configuration is recorded with the worker's exit status.
"""

import argparse
import os
import statistics
import time

from benchmarks import common, speed

# name -> (XLA_FLAGS added to the environment, CPU threads of the worker).
CONFIGS = {
    "default": ("", 2),
    "one_thread": ("", 1),  # common.worker_env adds the single-thread XLA flags.
    "onednn": ("--xla_cpu_use_onednn=true", 2),
    "xnnpack": ("--xla_cpu_use_xnnpack=true", 2),
    "fast_math": ("--xla_cpu_enable_fast_math=true", 2),
    "concurrency_scheduler": ("--xla_cpu_enable_concurrency_optimized_scheduler=true", 2),
    "no_fusion_emitters": ("--xla_cpu_use_fusion_emitters=false", 2),
}
MODELS = ["fnet", "plain_fnet", "ff_only"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="small", choices=["main", "small"])
    p.add_argument("--configs", default=",".join(CONFIGS),
                   help=f"comma-separated configurations from {list(CONFIGS)}; 'default' also "
                        "runs last")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds per mode")
    p.add_argument("--budget", type=float, default=40.0,
                   help="seconds of timing rounds per mode (fewer rounds, at least 3, when over)")
    p.add_argument("--worker-timeout", type=float, default=900.0)
    p.add_argument("--out", default=speed.RESULTS)
    p.add_argument("--quick", action="store_true", help="toy sizes for a smoke test")
    args = p.parse_args(argv)
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or args.rounds < 1:
        p.error(f"unknown --configs {unknown} (choose from {list(CONFIGS)}) or --rounds "
                f"{args.rounds} below 1")
    args.configs = names + (["default"] if "default" in names and len(names) > 1 else [])
    return args


def worker_spec(args):
    speed_args = speed.parse_args(["--suite", args.suite, "--models", ",".join(MODELS),
                                   "--rounds", str(args.rounds), "--budget", str(args.budget)]
                                  + (["--quick"] if args.quick else []))
    return speed.suite_specs(speed_args)[0]


def run_config(name, spec, args):
    """The worker's rows for one configuration (or one row saying why there are none)."""
    flags, threads = CONFIGS[name]
    saved = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = " ".join(f for f in (saved, flags) if f)
    try:
        rows, status = common.run_worker("benchmarks.speed_worker", "jax",
                                         dict(spec, threads=threads),
                                         timeout_s=args.worker_timeout, threads=threads,
                                         log=lambda line: print(f"[{name}] {line}", flush=True))
    finally:
        if saved is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = saved
    if status != "ok" and not rows:
        rows = [dict(model=m, mode=mode, status=f"worker {status}") for m in MODELS
                for mode in spec["modes"]]
    return [dict(row, config=name, xla_flags=flags) for row in rows]


def _times(row):
    return [float(t) for t in str(row.get("times_ms") or "").split()]


def ratio(a, b):
    """Median and range of per-round ratios a/b (same interleaved rounds), as text."""
    ta, tb = _times(a), _times(b)
    if not ta or len(ta) != len(tb):
        return "n/a"
    values = [x / y for x, y in zip(ta, tb)]
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def cell(row):
    if row.get("status") != "ok":
        return str(row.get("status"))
    return f"{float(row['median_ms']):.0f} ({float(row['min_ms']):.0f}-{float(row['max_ms']):.0f})"


def render(runs, spec, args, wall_s):
    """Markdown: one line per (run, mode) with the three models and the two ratios."""
    lines = [f"# JAX on CPU: XLA flags and threads, suite `{args.suite}` "
             f"({spec['num_layers']} layers, hidden {spec['hidden_dim']}, "
             f"length {spec['lengths'][0]}, batch {spec['batch']})", "",
             "Produced by `python -m benchmarks.jax_cpu`. ms per step, median (min-max) over "
             "interleaved rounds of the three models in one process per configuration; ratios: "
             "median (min-max) of per-round ratios. The default configuration runs first and last.",
             ""]
    header = ["run", "XLA flags / threads", "mode", "fnet ms", "plain JAX ms", "ff_only ms",
              "fnet / plain", "fnet / ff_only"]
    body = []
    for index, (name, rows) in enumerate(runs):
        flags, threads = CONFIGS[name]
        label = [f"{index + 1}. {name}", f"`{flags}` / {threads}" if flags else f"- / {threads}"]
        for mode in spec["modes"]:
            by_model = {r["model"]: r for r in rows if r.get("mode") == mode}
            if set(MODELS) - set(by_model):
                body.append(label + [mode, "missing", "", "", "", ""])
                continue
            fnet, plain, ff = (by_model[m] for m in MODELS)
            body.append(label + [mode, cell(fnet), cell(plain), cell(ff), ratio(fnet, plain),
                                 ratio(fnet, ff)])
    lines += [common.markdown_table(header, body), "",
              f"Machine: {common.cpu_model()}; {wall_s:.0f} s in all.", ""]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    spec = worker_spec(args)
    os.makedirs(args.out, exist_ok=True)
    start, runs = time.time(), []
    for name in args.configs:
        print(f"== {name}: XLA_FLAGS={CONFIGS[name][0]!r}, threads {CONFIGS[name][1]} "
              f"({time.time() - start:.0f}s)", flush=True)
        runs.append((name, run_config(name, spec, args)))
    stem = os.path.join(args.out, f"jax_cpu_{args.suite}")
    rows = [row for _, rows in runs for row in rows]
    common.write_csv(stem + ".csv", rows, ["config", "xla_flags"] + speed.COLUMNS)
    text = render(runs, spec, args, time.time() - start)
    common.write_text(stem + ".md", text)
    print(text)


if __name__ == "__main__":
    main()
