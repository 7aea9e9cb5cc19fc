"""The speed benchmark's plots, drawn from the rows of `speed.csv`.

    speed_lengths.png  time and memory vs sequence length, one column per backend
    speed_ratios.png   the targets' ratios per backend, with their min-max and limits
"""

import math
import os

from benchmarks import common

MODEL_STYLE = {"fnet": "tab:red", "bert": "tab:blue", "ff_only": "black", "performer": "tab:purple",
               "linear": "tab:olive"}
PANELS = [  # (suite, mode, value column, y label)
    ("lengths", "infer", "median_ms", "inference ms (tokens fixed)"),
    ("lengths_batch", "infer", "median_ms", "inference ms (batch 2)"),
    ("lengths", "train", "median_ms", "training step ms (tokens fixed)"),
    ("lengths", "infer", "rss_growth_mb", "inference RSS growth MB (tokens fixed)"),
    ("lengths", "train", "rss_growth_mb", "training RSS growth MB (tokens fixed)"),
]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def lengths_plot(rows, out):
    panels = [p for p in PANELS if any(r["suite"] == p[0] and r["mode"] == p[1] for r in rows)]
    backends = [b for b in common.BACKENDS
                if any(r["backend"] == b and r["suite"].startswith("lengths") for r in rows)]
    if not panels or not backends:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(panels), len(backends),
                             figsize=(5 * len(backends), 3.4 * len(panels)),
                             squeeze=False, sharey="row")
    for i, (suite, mode, column, label) in enumerate(panels):
        for j, backend in enumerate(backends):
            ax = axes[i][j]
            cells = [r for r in rows
                     if (r["suite"], r["mode"], r["backend"]) == (suite, mode, backend)]
            for model in dict.fromkeys(r["model"] for r in cells):
                pts = [(int(r["length"]), common.as_float(r[column])) for r in cells
                       if r["model"] == model and r["status"] == "ok"]
                pts = sorted((n, v) for n, v in pts if not math.isnan(v) and v > 0)
                if pts:
                    ax.plot(*zip(*pts), marker="o", ms=3, color=MODEL_STYLE.get(model, "gray"),
                            label=model)
                failed = [int(r["length"]) for r in cells
                          if r["model"] == model and r["status"] != "ok"]
                if failed and pts:
                    ax.plot([min(failed)], [pts[-1][1]], marker="x", ms=8,
                            color=MODEL_STYLE.get(model, "gray"))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_title(f"{backend}: {label}", fontsize=9)
            if i == len(panels) - 1:
                ax.set_xlabel("sequence length")
        axes[i][0].legend(fontsize=7)
    fig.suptitle("Inference and training vs length (x: timed out or out of memory at that length)")
    fig.tight_layout()
    common.save_figure(fig, os.path.join(out, "speed_lengths.png"), dpi=90)
    return "speed_lengths.png"


def ratios_plot(checks, out):
    checks = [c for c in checks if c["sense"] != "info" or "speed-up" in c["target"]]
    names = list(dict.fromkeys(c["target"] for c in checks))
    if not names:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        cells = [c for c in checks if c["target"] == name]
        labels = [f"{c['backend']}\n{c['suite']} {c['mode']}" for c in cells]
        values = [c["value"] for c in cells]
        errors = [[c["value"] - c["low"] for c in cells], [c["high"] - c["value"] for c in cells]]
        colors = ["tab:green" if c["met"] in (True, None) else "tab:red" for c in cells]
        ax.barh(range(len(cells)), values, xerr=errors, color=colors, alpha=0.8)
        ax.set_yticks(range(len(cells)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        if cells[0]["limit"] is not None:
            ax.axvline(cells[0]["limit"], color="black", ls="--", lw=1)
        ax.axvline(1.0, color="gray", lw=0.5)
        ax.set_title(name, fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    common.save_figure(fig, os.path.join(out, "speed_ratios.png"), dpi=90)
    return "speed_ratios.png"


def draw(rows, out, checks):
    """Draw the plots the rows allow; returns the names of the files written."""
    drawn = [lengths_plot(rows, out), ratios_plot(checks, out)]
    return [name for name in drawn if name]
