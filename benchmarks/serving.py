"""Serving speed of exported models: latency at batch 1, throughput at batch 32.

    python -m benchmarks.serving --threads 2         # as the committed run
    python -m benchmarks.serving --quick --out DIR   # seconds: toy sizes, smoke test
    python -m benchmarks.serving --report-only       # redraw serving.md and the plot

For fnet and bert (default size: the speed suite's `main`, which is the
`*_mini` preset: 4 layers, hidden 256, feed-forward 1024, 4 heads;
vocabulary 1000) at lengths 128 and 512, each backend's worker process
builds a classifier (Dense to 2 classes on the pooled output) and times, on
one fixed batch of random token ids without padding:

    keras         the Keras model, `predict_on_batch` (TensorFlow and JAX:
                  `jit_compile=True`; torch: eager)
    onnxruntime   `model.export(path, format="onnx")` at that length (DFT
                  mixing), run by onnxruntime's CPU provider
    saved_model   `model.export(path, format="tf_saved_model")` (FFT mixing;
                  any length on TensorFlow, fixed on JAX), loaded with
                  `tf.saved_model.load` and called through `serve`
    litert        `model.export(path, format="litert")` at that length (DFT
                  mixing, builtin ops), run by `ai_edge_litert`'s interpreter

whichever formats the backend offers (`keras_fnet.export.OFFERED`).
The runtimes of one (backend, model, length, batch) are timed in interleaved
rounds (A B C A B C ...); each cell keeps the median, min and max, and the
machine's load while it ran. Every artifact's output is compared with the
Keras model's on the timed batch (`max_abs_error`). Read ratios within one
backend's rows: absolute times move with the load on a shared machine.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

from benchmarks import common

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
SIZE = dict(num_layers=4, hidden_dim=256, intermediate_dim=1024, num_heads=4)
QUICK = dict(num_layers=1, hidden_dim=16, intermediate_dim=32, num_heads=2)
RUNTIMES = {"onnx": "onnxruntime", "tf_saved_model": "saved_model", "litert": "litert"}
COLUMNS = ["backend", "model", "runtime", "length", "batch", "num_layers", "hidden_dim",
           "intermediate_dim", "num_heads", "vocabulary_size", "threads", "status", "median_ms",
           "min_ms", "max_ms", "spread", "rounds", "times_ms", "sequences_per_s",
           "max_abs_error", "export_s", "load_avg", "others_cpu", "steal_pct"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="tensorflow,jax,torch",
                   help="comma-separated Keras backends, each run in its own process")
    p.add_argument("--models", default="fnet,bert", help="comma-separated families")
    p.add_argument("--lengths", default="128,512", help="comma-separated sequence lengths")
    p.add_argument("--batches", default="1,32",
                   help="comma-separated batch sizes (1: latency; the largest: throughput)")
    p.add_argument("--num-layers", type=int, default=SIZE["num_layers"])
    p.add_argument("--hidden-dim", type=int, default=SIZE["hidden_dim"])
    p.add_argument("--intermediate-dim", type=int, default=SIZE["intermediate_dim"])
    p.add_argument("--num-heads", type=int, default=SIZE["num_heads"])
    p.add_argument("--vocabulary-size", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds per cell")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls per runtime and cell")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads of every runtime (0: the frameworks' defaults)")
    p.add_argument("--worker-timeout", type=float, default=1800.0,
                   help="seconds one backend's worker may run before it is killed")
    p.add_argument("--out", default=RESULTS, help="folder for serving.csv, serving.md, serving.png")
    p.add_argument("--quick", action="store_true",
                   help="toy sizes for a smoke test (1 layer, hidden 16, length 16, batches 1,2, "
                        "2 rounds)")
    p.add_argument("--report-only", action="store_true",
                   help="only redraw serving.md and serving.png from the existing serving.csv")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker_spec(args):
    spec = dict(models=args.models.split(","), lengths=[int(v) for v in args.lengths.split(",")],
                batches=[int(v) for v in args.batches.split(",")], num_layers=args.num_layers,
                hidden_dim=args.hidden_dim, intermediate_dim=args.intermediate_dim,
                num_heads=args.num_heads, vocabulary_size=args.vocabulary_size,
                rounds=args.rounds, warmup=args.warmup, threads=args.threads)
    if args.quick:
        spec.update(QUICK, lengths=[16], batches=[1, 2], rounds=2, warmup=1)
    return spec


# ----------------------------------------------------------------------------
# Worker side (one process per backend)


def _onnx_runner(path, threads):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda x: session.run(None, {name: x[name] for name in names})[0]


def _saved_model_runner(path, threads):
    del threads  # TensorFlow's pools are set by the worker's environment.
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    return lambda x, loaded=loaded: np.asarray(loaded.serve(x))


def _litert_runner(path, threads):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path, num_threads=threads or None).get_signature_runner()
    return lambda x: next(iter(runner(**x).values()))


LOADERS = {"onnx": _onnx_runner, "tf_saved_model": _saved_model_runner, "litert": _litert_runner}


def _inputs(batch, length, vocabulary_size, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return {"token_ids": rng.integers(0, vocabulary_size, (batch, length)).astype("int32"),
            "segment_ids": np.zeros((batch, length), "int32"),
            "padding_mask": np.ones((batch, length), "int32")}


def worker(spec):
    import keras
    import numpy as np

    import keras_fnet
    from keras_fnet.export import OFFERED

    backend = keras.backend.backend()
    formats = [f for f in RUNTIMES if (backend, f) in OFFERED]
    size = {k: spec[k] for k in ("num_layers", "hidden_dim", "intermediate_dim", "num_heads")}
    base = dict(backend=backend, vocabulary_size=spec["vocabulary_size"],
                threads=spec["threads"] or "", **size)
    tmp = tempfile.mkdtemp(prefix="serving-")
    for family in spec["models"]:
        model = keras_fnet.build_classifier(
            f"{family}_tiny", num_classes=2, compile=False, vocabulary_size=spec["vocabulary_size"],
            max_sequence_length=max(spec["lengths"]), dropout=0.0, **size)
        model.compile(jit_compile=backend != "torch")
        for length in spec["lengths"]:
            runners, export_s = {}, {}
            for fmt in formats:
                fixed = OFFERED[backend, fmt].fixed_length
                suffix = {"onnx": ".onnx", "litert": ".tflite"}.get(fmt, "")
                path = os.path.join(tmp, f"{family}_{length}_{fmt}{suffix}")
                start = time.perf_counter()
                model.export(path, format=fmt, verbose=False,
                             sequence_length=length if fixed else None)
                export_s[fmt] = time.perf_counter() - start
                runners[RUNTIMES[fmt]] = LOADERS[fmt](path, spec["threads"])
            for batch in spec["batches"]:
                x = _inputs(batch, length, spec["vocabulary_size"])
                fns = {"keras": lambda x=x, m=model: np.asarray(m.predict_on_batch(x))}
                fns.update({name: (lambda run=run, x=x: run(x)) for name, run in runners.items()})
                want = fns["keras"]()
                errors = {name: float(np.max(np.abs(fn() - want))) for name, fn in fns.items()}
                for _ in range(spec["warmup"]):
                    for fn in fns.values():
                        fn()
                common.progress(f"{family} length {length} batch {batch}: {list(fns)}")
                meter = common.LoadMeter().start()
                times = common.interleaved_times(fns, spec["rounds"])
                load = meter.stop()
                for name, values in times.items():
                    median = statistics.median(values)
                    fmt = next((f for f, r in RUNTIMES.items() if r == name), None)
                    common.emit(dict(
                        base, model=family, runtime=name, length=length, batch=batch,
                        status="ok", median_ms=round(1e3 * median, 3),
                        min_ms=round(1e3 * min(values), 3), max_ms=round(1e3 * max(values), 3),
                        spread=round(common.spread(values), 3), rounds=len(values),
                        times_ms=" ".join(f"{1e3 * v:.3f}" for v in values),
                        sequences_per_s=round(batch / median, 2),
                        max_abs_error="" if name == "keras" else f"{errors[name]:.1e}",
                        export_s=round(export_s[fmt], 1) if fmt else "", **load))


# ----------------------------------------------------------------------------
# Report


def _cell(row, key):
    if row is None or row["status"] != "ok":
        return "-" if row is None else row["status"]
    if key == "latency":
        low, high = float(row["min_ms"]), float(row["max_ms"])
        return f"{float(row['median_ms']):.1f} ({low:.1f}-{high:.1f})"
    batch = int(row["batch"])
    slow, fast = batch / float(row["max_ms"]) * 1e3, batch / float(row["min_ms"]) * 1e3
    return f"{float(row['sequences_per_s']):.0f} ({slow:.0f}-{fast:.0f})"


def _ratio(row, keras_row):
    if row is None or keras_row is None or row["status"] != "ok" or keras_row["status"] != "ok":
        return ""
    return f"{float(keras_row['median_ms']) / float(row['median_ms']):.2f}"


def report(out, machine=None):
    """Write `serving.md` (and `serving.png`) from `serving.csv`."""
    rows = common.read_csv(os.path.join(out, "serving.csv"))
    failed = [r for r in rows if not r.get("length")]  # A worker that ended early.
    rows = [r for r in rows if r.get("length")]
    machine = machine or common.saved_machine(out, "serving")
    batches = sorted({int(r["batch"]) for r in rows})
    small, large = batches[0], batches[-1]
    index = {(r["backend"], r["model"], r["runtime"], int(r["length"]), int(r["batch"])): r
             for r in rows}
    first = rows[0] if rows else {}
    size = ", ".join(f"{k} {first.get(k, '')}" for k in
                     ("num_layers", "hidden_dim", "intermediate_dim", "num_heads",
                      "vocabulary_size"))
    lines = [
        "# Serving: exported models next to the Keras model",
        "",
        "Produced by `python -m benchmarks.serving` (flags in the machine table below); "
        "see the module's docstring for what each runtime is. Classifiers of the zoo "
        f"({size}), random weights, one fixed batch of random ids without padding.",
        "",
        f"Latency: milliseconds per call at batch {small}; throughput: sequences per second "
        f"at batch {large}; median (min-max) of interleaved rounds. `x keras`: the Keras "
        "model's median time over the runtime's, same backend, same cell (above 1: faster "
        "than Keras). `error`: largest absolute difference from the Keras model's logits "
        "on the timed batch.",
        "",
        "**This ran on a shared 2-core CPU machine** (other jobs ran beside it: see the "
        "load columns in `serving.csv`), with few rounds; spreads are wide and absolute "
        "numbers move with the load. Compare rows of one backend and one cell.",
        "",
    ]
    for length in sorted({int(r["length"]) for r in rows}):
        lines += [f"## Length {length}", ""]
        table = []
        keys = sorted({(r["backend"], r["model"], r["runtime"]) for r in rows
                       if int(r["length"]) == length},
                      key=lambda k: (k[1], k[0], k[2] != "keras", k[2]))
        for backend, model, runtime in keys:
            lat = index.get((backend, model, runtime, length, small))
            thr = index.get((backend, model, runtime, length, large))
            keras_lat = index.get((backend, model, "keras", length, small))
            keras_thr = index.get((backend, model, "keras", length, large))
            errors = [r["max_abs_error"] for r in (lat, thr) if r and r.get("max_abs_error")]
            table.append([model, backend, runtime, _cell(lat, "latency"), _ratio(lat, keras_lat),
                          _cell(thr, "throughput"), _ratio(thr, keras_thr),
                          max(errors, key=float) if errors else ""])
        lines += [common.markdown_table(
            ["model", "backend", "runtime", f"latency ms, batch {small}", "x keras",
             f"sequences/s, batch {large}", "x keras", "error"], table), ""]
    if failed:
        lines += ["Workers that ended early: " + ", ".join(
            f"{r['backend']} ({r['status']})" for r in failed), ""]
    if machine:
        lines += ["## Machine", "", common.machine_markdown(machine), ""]
    common.write_text(os.path.join(out, "serving.md"), "\n".join(lines))
    _plot(out, rows, large)


SHORT = {"tensorflow": "tf", "onnxruntime": "ort", "saved_model": "SM", "litert": "lite"}


def _plot(out, rows, batch):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    cells = [r for r in rows if int(r["batch"]) == batch and r["status"] == "ok"]
    lengths = sorted({int(r["length"]) for r in cells})
    if not cells:
        return
    fig, axes = plt.subplots(1, len(lengths), figsize=(5 * len(lengths), 4), squeeze=False)
    for ax, length in zip(axes[0], lengths):
        here = sorted((r for r in cells if int(r["length"]) == length),
                      key=lambda r: (r["model"], r["backend"], r["runtime"] != "keras"))
        labels = [f"{r['model']}\n{SHORT.get(r['backend'], r['backend'])}\n"
                  f"{SHORT.get(r['runtime'], r['runtime'])}" for r in here]
        values = [float(r["sequences_per_s"]) for r in here]
        # Clamped at 0: the CSV rounds the median's rate and the extremes' times apart, so
        # a median equal to an extreme can land a hair beyond it.
        low = [max(0.0, v - batch / float(r["max_ms"]) * 1e3) for v, r in zip(values, here)]
        high = [max(0.0, batch / float(r["min_ms"]) * 1e3 - v) for v, r in zip(values, here)]
        palette = {"keras": "tab:gray", "onnxruntime": "tab:blue", "saved_model": "tab:orange",
                   "litert": "tab:green"}
        colors = [palette[r["runtime"]] for r in here]
        ax.bar(range(len(here)), values, yerr=[low, high], color=colors, capsize=2)
        ax.set_xticks(range(len(here)), labels, fontsize=6)
        ax.set_title(f"length {length}, batch {batch}")
        ax.set_ylabel("sequences / s (median, min-max)")
    fig.suptitle("grey: Keras, blue: onnxruntime, orange: SavedModel, green: LiteRT "
                 "(shared 2-core CPU)")
    fig.tight_layout()
    common.save_figure(fig, os.path.join(out, "serving.png"), dpi=110)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        import json

        return worker(json.loads(args.worker))
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        return report(args.out)
    spec = worker_spec(args)
    machine = common.machine_description()
    rows, start = [], time.time()
    for backend in args.backends.split(","):
        print(f"== backend {backend} ({time.time() - start:.0f}s)", flush=True)
        got, status = common.run_worker("benchmarks.serving", backend, spec,
                                        timeout_s=args.worker_timeout, threads=args.threads,
                                        log=lambda line: print(line, flush=True))
        if status != "ok":
            print(f"[{backend}] worker ended: {status}", flush=True)
            got.append(dict(backend=backend, status=f"worker {status}"))
        rows += got
        common.write_csv(os.path.join(args.out, "serving.csv"), rows, COLUMNS)
    machine.update(threads=args.threads or "framework default", wall_s=round(time.time() - start),
                   command=" ".join(["python -m benchmarks.serving",
                                     *(sys.argv[1:] if argv is None else argv)]))
    common.write_json(os.path.join(args.out, "serving_machine.json"), machine)
    report(args.out, machine)
    print(f"wrote {args.out}/serving.csv, serving.md, serving.png in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
