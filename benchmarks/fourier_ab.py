"""Which `Re(FFT2)` formulation makes the fastest FNet step, inside the whole model.

`benchmarks.mixing` times the Fourier sublayer alone; this times the speed
benchmark's fnet classifier (same shape, batch and recipe as `benchmarks.speed`)
with each formulation of `spectral.real_fft2`, next to ff_only, in interleaved
rounds in one process of the active backend:

    rfft+custom   real FFT over the hidden axis, complex FFT over the sequence
                  axis, the self-adjoint custom gradient (the JAX/TF default)
    fft2+custom   one complex 2-D FFT of `x + 0i`, the custom gradient (torch's)
    rfft+autodiff, fft2+autodiff   the same, differentiated by the framework

    KERAS_BACKEND=jax python -m benchmarks.fourier_ab --suite small
    KERAS_BACKEND=torch python -m benchmarks.fourier_ab --suite main --modes train

Writes `fourier_ab_<backend>_<suite>.md`: ms per step, median (min-max), and
the per-round ratio of each to ff_only (the FFT share of the step).
"""

import argparse
import os
import statistics

from benchmarks import common, speed
from benchmarks.speed_worker import KerasModel, batch_for
from keras_fnet.layers.mixing import fourier, spectral

ORIGINAL = spectral.real_fft2

# name -> (algorithm, custom gradient)
FORMULATIONS = {"rfft+custom": ("rfft", True), "fft2+custom": ("fft2", True),
                "rfft+autodiff": ("rfft", False), "fft2+autodiff": ("fft2", False)}


def formulation(name):
    """A drop-in for `spectral.real_fft2` that uses one formulation."""
    algorithm, custom = FORMULATIONS[name]

    def real_fft2(x, algorithm_=None):
        return ORIGINAL(x, algorithm) if custom else spectral._RE_FFT2[algorithm](x)

    return real_fft2


def step_with(model, mode, name):
    """The model's step with the Fourier layer's `real_fft2` patched to `name` while it runs
    (and traces)."""
    step = getattr(model, mode)
    fn = formulation(name) if name else ORIGINAL

    def run():
        fourier.real_fft2 = fn
        try:
            step()
        finally:
            fourier.real_fft2 = ORIGINAL

    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="small", choices=["main", "small"])
    p.add_argument("--modes", default="train,infer")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--out", default=speed.RESULTS)
    p.add_argument("--quick", action="store_true", help="toy sizes for a smoke test")
    args = p.parse_args(argv)
    modes = args.modes.split(",")
    if set(modes) - {"train", "infer"} or args.rounds < 1:
        p.error(f"--modes must be train and/or infer (got {args.modes!r}) and --rounds >= 1 "
                f"(got {args.rounds})")
    import keras

    spec = dict(speed.SUITES[args.suite], vocabulary_size=1000, dtype="float32")
    if args.quick:
        spec.update(lengths=[16], num_layers=1, hidden_dim=16, intermediate_dim=32, batch=2)
    length = spec["lengths"][0]
    batch = batch_for(spec, length)
    backend = keras.backend.backend()
    lines = [f"# Re(FFT2) formulations inside the fnet step: {backend}, suite `{args.suite}` "
             f"({spec['num_layers']} layers, hidden {spec['hidden_dim']}, length {length}, "
             f"batch {batch})",
             "", "Produced by `python -m benchmarks.fourier_ab`. ms per step, median (min-max) "
             "over interleaved rounds; ratio to ff_only: median (min-max) of per-round ratios.", ""]
    for mode in modes:
        fns = {"ff_only": step_with(KerasModel("ff_only", spec, length, batch), mode, None)}
        for name in FORMULATIONS:
            fns[name] = step_with(KerasModel("fnet", spec, length, batch), mode, name)
        for fn in fns.values():
            fn()  # Compile (traces with its own formulation) and warm up.
            fn()
        meter = common.LoadMeter().start()
        times = common.interleaved_times(fns, args.rounds,
                                         log=lambda m, mode=mode: print(mode, m, flush=True))
        load = meter.stop()
        body = []
        for name, values in times.items():
            ratios = [a / b for a, b in zip(values, times["ff_only"])]
            body.append([name, f"{1e3 * statistics.median(values):.0f} ({1e3 * min(values):.0f}-"
                               f"{1e3 * max(values):.0f})",
                         f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"])
        table = common.markdown_table(["formulation", "ms", "/ ff_only"], body)
        lines += [f"## {mode}", "", table, "",
                  f"While timed: other processes kept {load['others_cpu']:.1f} cores busy, load "
                  f"average {load['load_avg']:.1f}.", ""]
    path = os.path.join(args.out, f"fourier_ab_{backend}_{args.suite}.md")
    common.write_text(path, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
