"""Where a torch step's time goes: keras_fnet against the plain PyTorch FNet, op by op.

Runs both models of `benchmarks.speed` (same shape, batch and recipe, built by
`speed_worker.make_model`) under `torch.profiler` and writes, per mode, the
self CPU time of each op kind per step (FFT, matmul, layer norm, ...) side by
side, to `speed_profile_torch.md`. The step times of the profiled steps are
inflated by the profiler; compare the shares and the per-op differences.

    KERAS_BACKEND=torch python -m benchmarks.speed_profile --suite small
    KERAS_BACKEND=torch python -m benchmarks.speed_profile --suite main --steps 5

Torch only: JAX and TensorFlow steps are single XLA programs, whose split is
measured instead by timing the Fourier sublayer alone (`benchmarks.mixing` at
the suite's shape) against the step difference of fnet and ff_only.
"""

import argparse
import collections
import os

from benchmarks import common, speed
from benchmarks.speed_worker import batch_for, make_model

# Op-name fragments -> kind, first match wins; everything else is "other".
KINDS = [("fft", "fft"), ("mm", "matmul"), ("linear", "matmul"), ("matmul", "matmul"),
         ("layer_norm", "layer norm"), ("gelu", "gelu / tanh"), ("tanh", "gelu / tanh"),
         ("pow", "gelu / tanh"), ("dropout", "dropout"), ("bernoulli", "dropout"),
         ("embedding", "embedding / gather"), ("index", "embedding / gather"),
         ("take", "embedding / gather"), ("gather", "embedding / gather"),
         ("copy", "copies / casts"), ("to", "copies / casts"), ("contiguous", "copies / casts"),
         ("complex", "copies / casts"), ("clone", "copies / casts"), ("cat", "copies / casts"),
         ("adam", "optimizer"), ("foreach", "optimizer"), ("lerp", "optimizer"),
         ("add", "elementwise"), ("mul", "elementwise"),
         ("sub", "elementwise"), ("div", "elementwise"), ("mean", "reductions"),
         ("sum", "reductions"), ("var", "reductions"), ("zeros", "allocation"),
         ("empty", "allocation"), ("fill", "allocation")]


def kind_of(op_name):
    name = op_name.lower()
    for fragment, kind in KINDS:
        if fragment in name:
            return kind
    return "other"


def profile(model, mode, steps):
    """{kind: self CPU ms per step} and the total, over `steps` profiled steps."""
    import torch

    step = getattr(model, mode)
    for _ in range(2):
        step()  # Warm.
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    by_kind = collections.Counter()
    top = collections.Counter()
    for event in prof.key_averages():
        if event.key.startswith("ProfilerStep"):
            continue
        ms = event.self_cpu_time_total / 1e3 / steps
        by_kind[kind_of(event.key)] += ms
        top[event.key] += ms
    return by_kind, top


def render(suite, spec, length, batch, results, steps):
    lines = [f"# Where a torch step's time goes: suite `{suite}` "
             f"({spec['num_layers']} layers, hidden {spec['hidden_dim']}, "
             f"feed-forward {spec['intermediate_dim']}, length {length}, batch {batch})", "",
             f"Self CPU ms per step under `torch.profiler` ({steps} profiled steps each, threads "
             f"{_threads()}), by op kind; produced by `python -m benchmarks.speed_profile --suite "
             f"{suite}`. The profiler inflates every op; read shares and differences.", ""]
    for mode in ("train", "infer"):
        (k_kind, k_top), (p_kind, p_top) = results["fnet", mode], results["plain_fnet", mode]
        kinds = sorted(set(k_kind) | set(p_kind), key=lambda k: -(k_kind[k] + p_kind[k]))
        body = [[k, f"{k_kind[k]:.1f}", f"{p_kind[k]:.1f}", f"{k_kind[k] - p_kind[k]:+.1f}"]
                for k in kinds]
        total_k, total_p = sum(k_kind.values()), sum(p_kind.values())
        body.append(["**total**", f"{total_k:.1f}", f"{total_p:.1f}", f"{total_k - total_p:+.1f}"])
        lines += [f"## {mode}", "", common.markdown_table(
            ["op kind", "keras_fnet ms", "plain PyTorch ms", "difference"], body), ""]
        for label, top in (("keras_fnet", k_top), ("plain PyTorch", p_top)):
            ops = ", ".join(f"`{name}` {ms:.1f}" for name, ms in top.most_common(8))
            lines.append(f"- {label}, top ops (ms per step): {ops}.")
        lines.append("")
    return "\n".join(lines)


def _threads():
    import torch

    return torch.get_num_threads()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="small", choices=["main", "small"])
    p.add_argument("--steps", type=int, default=5, help="profiled steps per model and mode")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default=speed.RESULTS)
    p.add_argument("--quick", action="store_true", help="toy sizes for a smoke test")
    args = p.parse_args(argv)
    import keras

    if keras.backend.backend() != "torch":
        raise SystemExit("speed_profile: run it with KERAS_BACKEND=torch")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = dict(speed.SUITES[args.suite], vocabulary_size=1000, dtype="float32")
    if args.quick:
        spec.update(lengths=[16], num_layers=1, hidden_dim=16, intermediate_dim=32, num_heads=2,
                    batch=2)
    length = spec["lengths"][0]
    batch = batch_for(spec, length)
    results = {}
    for name in ("fnet", "plain_fnet"):
        model = make_model(name, spec, length, batch)
        for mode in ("train", "infer"):
            print(f"profiling {name} {mode}", flush=True)
            results[name, mode] = profile(model, mode, args.steps)
    path = os.path.join(args.out, f"speed_profile_torch_{args.suite}.md")
    common.write_text(path, render(args.suite, spec, length, batch, results, args.steps))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
