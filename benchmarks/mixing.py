"""The Fourier sublayer alone: each implementation, per backend and length.

Times `y = Re(FFT2(x))` over the sequence and hidden axes of a float32 array
`[batch, length, hidden]` with a fixed number of tokens per batch, forward and
forward+backward (gradient of `sum(y * g)`), for:

    keras_hub   `ops.fft2` of `x + 0i`, differentiated by the framework
                (keras-hub's FNetEncoder, and this project's old "fft")
    fft2        one complex 2-D FFT, with the self-adjoint custom gradient
    rfft        real FFT over the hidden axis + complex FFT over the sequence
                axis, with the custom gradient
    fft         `FourierMixing(implementation="fft")`: whichever of fft2/rfft
                `spectral.FFT_ALGORITHM` picks for the backend
    dft         `FourierMixing(implementation="dft")`: cosine/sine matrices
                and matmuls (the paper's TPU path)

next to NumPy's and SciPy's FFT of the same array as the floor (forward only;
their forward+backward is written as twice the forward, since the gradient is
the same transform). JAX and TensorFlow run under XLA (`jax.jit`,
`tf.function(jit_compile=True)`); torch runs eagerly.

The table tells `FourierMixing(implementation="auto")` where the matmul path
stops paying on this hardware (`AUTO_DFT_MAX_LENGTH["cpu"]`) and which FFT
formulation to use per backend (`FFT_ALGORITHM`).

    python -m benchmarks.mixing                 # full run (about 10 minutes)
    python -m benchmarks.mixing --quick         # a smoke run in seconds
    python -m benchmarks.mixing --report-only   # redraw table and plot from CSV
"""

import argparse
import json
import os
import time

import numpy as np

from benchmarks import common

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
COLUMNS = ["backend", "implementation", "pass", "length", "hidden", "batch", "status",
           "median_ms", "p25_ms", "p75_ms", "rounds", "ms_per_1k_tokens", "max_rel_error", "jit"]
IMPLEMENTATIONS = ["keras_hub", "fft2", "rfft", "fft", "dft"]
JIT = {"jax": "jax.jit (XLA)", "tensorflow": "tf.function(jit_compile=True) (XLA)",
       "torch": "eager", "numpy": "-", "scipy": "-"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default=",".join(common.BACKENDS),
                   help="comma-separated Keras backends, each run in its own process")
    p.add_argument("--lengths", default="64,128,256,512,1024,2048,4096,8192",
                   help="comma-separated sequence lengths")
    p.add_argument("--hidden", type=int, default=256, help="hidden size (last axis)")
    p.add_argument("--tokens", type=int, default=8192,
                   help="tokens per batch: batch = max(1, tokens // length)")
    p.add_argument("--implementations", default=",".join(IMPLEMENTATIONS),
                   help=f"comma-separated, from {IMPLEMENTATIONS}")
    p.add_argument("--dft-max-length", type=int, default=4096,
                   help="skip the O(n^2) dft path above this length (recorded as skipped)")
    p.add_argument("--rounds", type=int, default=11, help="interleaved timing rounds per config")
    p.add_argument("--budget", type=float, default=10.0,
                   help="seconds of timing rounds per (backend, length, pass) at most")
    p.add_argument("--out", default=RESULTS, help="folder for mixing.csv, mixing.md, mixing.png")
    p.add_argument("--quick", action="store_true",
                   help="toy sizes for a smoke test: lengths 16,24, hidden 8, 2 rounds "
                        "(flags given explicitly are kept)")
    p.add_argument("--report-only", action="store_true",
                   help="only redraw mixing.md and mixing.png from the existing mixing.csv")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:  # Toy sizes, except where a flag was given explicitly.
        toy = dict(lengths="16,24", hidden=8, tokens=64, rounds=2, budget=2.0)
        for key, value in toy.items():
            if getattr(args, key) == p.get_default(key):
                setattr(args, key, value)
    return args


# ----------------------------------------------------------------------------
# Worker: one backend


def _transforms(names):
    """name -> function x -> Re(FFT2(x)) for the implementations asked for."""
    from keras import ops

    from keras_fnet.layers import FourierMixing
    from keras_fnet.layers.mixing import spectral

    def keras_hub(x):  # Exactly keras-hub's FNetEncoder transform.
        real, _ = ops.fft2((x, ops.zeros_like(x)))
        return real

    table = {
        "keras_hub": keras_hub,
        "fft2": lambda x: spectral.real_fft2(x, "fft2"),
        "rfft": lambda x: spectral.real_fft2(x, "rfft"),
        "fft": FourierMixing(implementation="fft"),
        "dft": FourierMixing(implementation="dft"),
    }
    return {name: table[name] for name in names}


def _compile(backend, f, backward):
    """A function x, g -> output (forward) or gradient (backward), compiled."""
    if backend == "jax":
        import jax

        if backward:  # The value too: XLA would drop the unused forward of a linear map.
            return jax.jit(jax.value_and_grad(lambda x, g: (f(x) * g).sum()))
        return jax.jit(lambda x, g: f(x))
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def step(x, g):
            if not backward:
                return f(x)
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(f(x) * g)
            return loss, tape.gradient(loss, x)

        return step
    import torch

    def step(x, g):
        if not backward:
            with torch.no_grad():
                return f(x)
        x = x.detach().requires_grad_(True)
        loss = (f(x) * g).sum()
        loss.backward()
        return loss.detach(), x.grad

    return step


def worker(spec):
    import keras
    from keras import ops

    backend = keras.backend.backend()
    transforms = _transforms(spec["implementations"])
    for length in spec["lengths"]:
        batch = max(1, spec["tokens"] // length)
        shape = (batch, length, spec["hidden"])
        rng = np.random.default_rng(0)
        x_np = rng.standard_normal(shape).astype("float32")
        g_np = rng.standard_normal(shape).astype("float32")
        x, g = ops.convert_to_tensor(x_np), ops.convert_to_tensor(g_np)
        want = np.fft.fft2(x_np.astype("float64")).real
        want_grad = np.fft.fft2(g_np.astype("float64")).real
        for backward in (False, True):
            pass_name = "fwd+bwd" if backward else "fwd"
            base = dict(backend=backend, pass_=pass_name, length=length, hidden=spec["hidden"],
                        batch=batch, jit=JIT[backend])
            fns, errors = {}, {}
            for name, f in transforms.items():
                if name == "dft" and length > spec["dft_max_length"]:
                    common.emit({**base, "implementation": name,
                                 "status": "skipped (n^2 matrices)"})
                    continue
                try:
                    step = _compile(backend, f, backward)
                    out = step(x, g)  # compile + check
                    out = ops.convert_to_numpy(out[1] if backward else out)
                    ref = want_grad if backward else want
                    errors[name] = float(np.abs(out - ref).max() / np.abs(ref).max())
                    # Bound now: the loops move on to the next x, g and pass.
                    fns[name] = (lambda step=step, x=x, g=g, backward=backward:
                                 [ops.convert_to_numpy(t)
                                  for t in (step(x, g) if backward else [step(x, g)])])
                except Exception as error:  # Recorded, not dropped.
                    status = ("oom" if "memory" in str(error).lower()
                              else f"error: {type(error).__name__}")
                    common.emit({**base, "implementation": name, "status": status})
            common.progress(f"{backend} length {length} batch {batch} {pass_name}: "
                            f"timing {list(fns)}")
            stats = common.interleaved_medians(fns, spec["rounds"], budget_s=spec["budget"])
            for name, s in stats.items():
                common.emit({**base, "implementation": name, "status": "ok",
                             "median_ms": 1e3 * s["median_s"], "p25_ms": 1e3 * s["p25_s"],
                             "p75_ms": 1e3 * s["p75_s"], "rounds": s["rounds"],
                             "ms_per_1k_tokens": 1e6 * s["median_s"] / (batch * length),
                             "max_rel_error": errors[name]})


def numpy_floor(lengths, hidden, tokens, rounds):
    """NumPy and SciPy FFT of the same arrays, in this process."""
    import scipy.fft

    rows = []
    for length in lengths:
        batch = max(1, tokens // length)
        x = np.random.default_rng(0).standard_normal((batch, length, hidden)).astype("float32")
        fns = {
            "numpy": lambda x=x: np.fft.fft2(x).real,
            "scipy": lambda x=x: scipy.fft.fft2(x, workers=os.cpu_count()).real,
        }
        stats = common.interleaved_medians(fns, rounds, budget_s=10)
        for name, s in stats.items():
            for pass_name, factor in (("fwd", 1), ("fwd+bwd", 2)):
                rows.append(dict(backend=name, implementation=name, pass_=pass_name, length=length,
                                 hidden=hidden, batch=batch, status="ok", jit="-",
                                 median_ms=1e3 * factor * s["median_s"],
                                 p25_ms=1e3 * factor * s["p25_s"], p75_ms=1e3 * factor * s["p75_s"],
                                 rounds=s["rounds"],
                                 ms_per_1k_tokens=1e6 * factor * s["median_s"] / (batch * length),
                                 max_rel_error=0.0))
    return rows


# ----------------------------------------------------------------------------
# Report


def _fix(row):
    row = dict(row)
    if "pass_" in row:
        row["pass"] = row.pop("pass_")
    return row


def report(out, machine=None):
    rows = common.read_csv(os.path.join(out, "mixing.csv"))
    if machine is None:
        machine = common.saved_machine(out, "mixing")
    lengths = sorted({int(r["length"]) for r in rows})
    hidden = rows[0]["hidden"] if rows else "?"
    lines = ["# Fourier sublayer alone: `Re(FFT2(x))` per implementation, backend and length", "",
             f"Median milliseconds per call on `[batch, length, {hidden}]` float32 with "
             "batch x length "
             "= " + (f"{int(rows[0]['batch']) * int(rows[0]['length'])}" if rows else "?") +
             " tokens; interleaved rounds in one process per backend. Produced by "
             "`python -m benchmarks.mixing`.", ""]
    for pass_name in ("fwd", "fwd+bwd"):
        lines += [f"## {pass_name}", ""]
        header = ["backend", "implementation"] + [str(n) for n in lengths]
        table = []
        keys = []
        for r in rows:
            key = (r["backend"], r["implementation"])
            if r["pass"] == pass_name and key not in keys:
                keys.append(key)
        for backend, impl in keys:
            cells = []
            for n in lengths:
                match = [r for r in rows if r["backend"] == backend and r["implementation"] == impl
                         and r["pass"] == pass_name and int(r["length"]) == n]
                if not match:
                    cells.append("")
                elif match[0]["status"] != "ok":
                    cells.append(match[0]["status"].split(" ")[0])
                else:
                    cells.append(f"{common.as_float(match[0]['median_ms']):.2f}")
            table.append([backend, impl] + cells)
        lines += [common.markdown_table(header, table), ""]
    max_error = max([common.as_float(r["max_rel_error"]) for r in rows if r["status"] == "ok"]
                    or [0])
    lines += [f"Max relative error of every row against float64 NumPy: {max_error:.1e}.",
              "", "JIT: " + "; ".join(f"{k}: {v}" for k, v in JIT.items() if k in
                                       {r['backend'] for r in rows}) + ".",
              "", "![mixing](mixing.png)", "", "## Machine", "", common.machine_markdown(machine),
              ""]
    common.write_text(os.path.join(out, "mixing.md"), "\n".join(lines))
    plot(rows, os.path.join(out, "mixing.png"))


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = [b for b in common.BACKENDS if any(r["backend"] == b for r in rows)]
    if not backends:
        return
    fig, axes = plt.subplots(2, len(backends), figsize=(5 * len(backends), 8), squeeze=False,
                             sharey="row")
    styles = {"keras_hub": ("tab:gray", "--"), "fft2": ("tab:blue", ":"),
              "rfft": ("tab:green", ":"), "fft": ("tab:red", "-"), "dft": ("tab:purple", "-"),
              "numpy": ("black", "-."), "scipy": ("tab:brown", "-.")}
    for row_index, pass_name in enumerate(("fwd", "fwd+bwd")):
        for col, backend in enumerate(backends):
            ax = axes[row_index][col]
            for impl in IMPLEMENTATIONS + ["numpy", "scipy"]:
                source = "numpy" if impl in ("numpy", "scipy") else backend
                pts = sorted((int(r["length"]), common.as_float(r["median_ms"])) for r in rows
                             if r["backend"] in (source, impl) and r["implementation"] == impl
                             and r["pass"] == pass_name and r["status"] == "ok")
                if source == "numpy":
                    pts = sorted((int(r["length"]), common.as_float(r["median_ms"])) for r in rows
                                 if r["backend"] == impl and r["pass"] == pass_name
                                 and r["status"] == "ok")
                if pts:
                    color, style = styles[impl]
                    ax.plot(*zip(*pts), style, color=color, marker="o", markersize=3, label=impl)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{backend}, {pass_name}")
            ax.set_xlabel("sequence length (tokens per batch fixed)")
            ax.grid(True, which="both", alpha=0.3)
            if col == 0:
                ax.set_ylabel("ms per call (median)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Fourier mixing alone: Re(FFT2(x)) per implementation")
    fig.tight_layout()
    common.save_figure(fig, path, dpi=110)


# ----------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        report(args.out)
        return
    lengths = [int(n) for n in args.lengths.split(",")]
    spec = dict(lengths=lengths, hidden=args.hidden, tokens=args.tokens,
                implementations=args.implementations.split(","),
                dft_max_length=args.dft_max_length, rounds=args.rounds, budget=args.budget)
    machine = common.machine_description()
    rows = []
    start = time.time()
    print(f"numpy/scipy floor, lengths {lengths}", flush=True)
    rows += numpy_floor(lengths, args.hidden, args.tokens, args.rounds)
    for backend in args.backends.split(","):
        print(f"== {backend} ({time.time() - start:.0f}s)", flush=True)
        got, status = common.run_worker("benchmarks.mixing", backend, spec, timeout_s=900)
        rows += got
        if status != "ok":
            print(f"[{backend}] worker ended: {status}", flush=True)
        common.write_csv(os.path.join(args.out, "mixing.csv"), [_fix(r) for r in rows], COLUMNS)
    rows = [_fix(r) for r in rows]
    common.write_csv(os.path.join(args.out, "mixing.csv"), rows, COLUMNS)
    common.write_json(os.path.join(args.out, "mixing_machine.json"), machine)
    report(args.out, machine)
    print(f"wrote {args.out}/mixing.csv, mixing.md, mixing.png in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
