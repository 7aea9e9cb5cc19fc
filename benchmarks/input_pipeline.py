"""Is the input pipeline ever the bottleneck? Pipelines vs. an fnet_small step.

For each task, measures how many batches per second `keras_fnet.data.load_task`
delivers (mock/generated data, so it runs offline; TFDS mock data is produced
by Python generators, which makes these numbers a lower bound of the real
pipelines' speed), and how many batches per second an `fnet_small` classifier
trains on (`train_on_batch`, same batch size; measured at length 512 and
scaled linearly to each task's length, which slightly flatters the model at
long lengths since the FFT is O(L log L)). The model is
`keras_fnet.build_classifier("fnet_small")` when the library provides it, else
a plain-Keras stand-in of the same size (embedding + 4 x 512 x 2048 layers).

Writes `benchmarks/results/input_pipeline.{csv,md,png}`.

    KERAS_BACKEND=jax python benchmarks/input_pipeline.py [--batches 30]
"""

import argparse
import os
import platform
import time

import keras
import numpy as np

from benchmarks import common
from keras_fnet.data import load_task, task_info

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# (task, split, max_length); TFDS tasks and Retrieval read mock data.
TASKS = [
    ("pretrain", "train", 512),
    ("glue/mnli", "train", 512),
    ("glue/sst2", "train", 128),
    ("listops", "train", 2048),
    ("lra_text", "train", 4096),
    ("lra_image", "train", 1025),
    ("pathfinder", "train", 1025),
    ("retrieval", "train", 4096),
]


def pipeline_rate(name, split, max_length, batch_size, num_batches):
    ds = load_task(name, split, batch_size=batch_size, max_length=max_length,
                   mock=True, mock_examples=max(256, 2 * batch_size),
                   repeat=True, drop_remainder=True, seed=0)
    it = iter(ds)
    for _ in range(3):  # warm-up: tracing, first fills
        next(it)
    start = time.perf_counter()
    for _ in range(num_batches):
        next(it)
    return num_batches / (time.perf_counter() - start)


def model_rate(batch_size, length=512, steps=3):
    """Training batches/s of fnet_small at `length`."""
    import keras_fnet

    model = keras_fnet.build_classifier("fnet_small", num_classes=2)
    label = "keras_fnet fnet_small classifier"
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(3, 1000, (batch_size, length)).astype(
            "int32"),
        "segment_ids": np.zeros((batch_size, length), "int32"),
        "padding_mask": np.ones((batch_size, length), "int32"),
    }
    y = rng.integers(0, 2, batch_size).astype("int32")
    model.train_on_batch(x, y)  # compile / trace
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps / (time.perf_counter() - start), label


def plot(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["task"] for r in rows]
    pos = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.bar(pos - 0.2, [r["pipeline_batches_per_s"] for r in rows], 0.4,
           label="input pipeline")
    ax.bar(pos + 0.2, [r["model_batches_per_s"] for r in rows], 0.4,
           label="fnet_small training step")
    ax.set_yscale("log")
    ax.set_xticks(pos)
    ax.set_xticklabels(
        [f"{n}\nL={r['max_length']}" for n, r in zip(names, rows)],
        fontsize=8)
    ax.set_ylabel("batches / s (log)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    common.save_figure(fig, path, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--batches", type=int, default=30,
                   help="timed batches per pipeline")
    p.add_argument("--output-dir", default=RESULTS)
    args = p.parse_args(argv)

    backend = keras.backend.backend()
    model_bps_512, model_label = model_rate(args.batch_size)
    print(f"model ({model_label}, {backend}): {model_bps_512:.3f} batches/s "
          f"at L=512, batch {args.batch_size}")
    rows = []
    for name, split, length in TASKS:
        rate = pipeline_rate(name, split, length, args.batch_size,
                             args.batches)
        model_bps = model_bps_512 * 512 / length
        rows.append({
            "task": name,
            "max_length": length,
            "batch_size": args.batch_size,
            "vocabulary_size": task_info(name, mock=True).vocabulary_size,
            "pipeline_batches_per_s": round(rate, 2),
            "model_batches_per_s": round(model_bps, 4),
            "headroom": round(rate / model_bps, 1),
        })
        print(f"{name:12s} L={length:5d}: pipeline {rate:8.1f} batches/s, "
              f"model {model_bps:.3f} batches/s, headroom x{rate / model_bps:.0f}")

    base = os.path.join(args.output_dir, "input_pipeline")
    common.write_csv(base + ".csv", rows, list(rows[0]))
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {backend}"
    text = (f"# Input pipeline vs. model throughput\n\n"
            f"Machine: {machine}. Batch size {args.batch_size}. Model: "
            f"{model_label}, {model_bps_512:.3f} training batches/s at "
            f"L=512, scaled by 512/L. Pipelines on mock/generated data.\n\n"
            "| task | L | pipeline batches/s | model batches/s | headroom |\n"
            "|---|---|---|---|---|\n")
    for r in rows:
        text += (f"| {r['task']} | {r['max_length']} | "
                 f"{r['pipeline_batches_per_s']} | "
                 f"{r['model_batches_per_s']} | x{r['headroom']:.0f} |\n")
    common.write_text(base + ".md", text)
    plot(rows, base + ".png",
         f"Input pipelines vs. fnet_small training ({machine}, batch "
         f"{args.batch_size})")
    print(f"wrote {base}.csv, .md, .png")


if __name__ == "__main__":
    main()
