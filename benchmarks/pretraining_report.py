"""Tables and plots of the pretraining study (`benchmarks.pretraining`).

`write(args, manifest, rows, curves, stem)` writes `<stem>.md` and the plots
`<stem>_curves.png` (training MLM accuracy by step), `<stem>_pareto.png`
(held-out MLM accuracy against training time across sizes) and
`<stem>_ordering.png` (each family's share of BERT here against the paper's).
"""

import json
import os
import statistics

from benchmarks.pretraining import SIZES

# The paper's Base models (Lee-Thorp et al. 2022): GLUE validation average and
# pretraining MLM/NSP accuracy on C4. None: the paper gives no such number.
PAPER = {
    "bert": {"glue": 83.3, "mlm": 0.68, "nsp": 0.86},
    "fnet_hybrid": {"glue": 80.6, "mlm": 0.63, "nsp": 0.84},
    "linear": {"glue": 77.0, "mlm": None, "nsp": None},
    "fnet": {"glue": 76.7, "mlm": 0.58, "nsp": 0.80},
    "random": {"glue": 56.6, "mlm": None, "nsp": None},
    "ff_only": {"glue": 49.3, "mlm": None, "nsp": None},
}
PAPER_SOURCE = ("GLUE averages of the Base models and pretraining accuracies from the paper's "
                "tables (FNet-Base's MLM 0.58 / NSP 0.80 also on the google/fnet-base model "
                "card); the appendix puts DCT and Hadamard a little below the DFT, Hartley level "
                "with it, and has no GLUE row for Performer.")


def _mean(values):
    values = [v for v in values if v == v]  # NaN: not measured (a fine-tuning not run).
    return statistics.mean(values) if values else float("nan")


def _spread(values, digits=3):
    """`mean` or `mean (min-max)` when there are several values; NaNs left out."""
    values = [v for v in values if v == v]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{_mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def by_family(rows, size):
    grouped = {}
    for r in rows:
        if r["size"] == size:
            grouped.setdefault(r["family"], []).append(r)
    return grouped


def shares(rows, size, key):
    """Each family's mean `key` as a fraction of BERT's at `size` (None without BERT)."""
    grouped = by_family(rows, size)
    if "bert" not in grouped:
        return {}
    bert = _mean([r[key] for r in grouped["bert"]])
    return {f: _mean([r[key] for r in rs]) / bert for f, rs in grouped.items()}


def summary(args, manifest, rows, plots=()):
    """The Markdown report; `plots`: `(file name, caption)` of the plots beside it."""
    grouped = by_family(rows, args.size)
    order = sorted(grouped, key=lambda f: -_mean([r["downstream_accuracy"]
                                                  for r in grouped[f]]))
    down, mlm = shares(rows, args.size, "downstream_accuracy"), shares(rows, args.size,
                                                                      "mlm_accuracy")
    classes = manifest["downstream_classes"]
    lines = [
        "# Pretraining study",
        "",
        f"Corpus: {manifest['files']} files of {manifest['settings']['source']} "
        f"(sha256 {manifest['source_sha256'][:12]}), {sum(manifest['paragraphs'].values())} "
        f"prose paragraphs: {manifest['paragraphs']['pretrain']} for pretraining "
        f"({manifest['words']['pretrain']:,} words), {manifest['paragraphs']['heldout']} "
        f"held out; SentencePiece vocabulary of at most {manifest['settings']['vocab_size']} "
        "pieces trained on the pretraining paragraphs only.",
        "",
        f"Every run: MLM + NSP, {args.steps} steps of batch {args.batch_size} at length "
        f"{args.max_length}, peak learning rate {args.learning_rate} (10% warm-up, linear "
        f"decay), {args.backend}, {args.workers} runs at a time on this machine. Held-out MLM/NSP "
        f"accuracy on {args.eval_steps} batches of held-out paragraphs. Downstream: which of "
        f"{len(classes)} parts of the documentation ({', '.join(classes)}) a paragraph comes "
        f"from, {manifest['downstream_examples']['train']} training paragraphs, "
        f"{args.finetune_steps} steps at peak learning rate {args.finetune_learning_rate}; "
        f"accuracy on {manifest['downstream_examples']['test']} held-out paragraphs (chance "
        f"{1 / len(classes):.2f}, classes balanced).",
        "",
        f"## Size {args.size} ({_size_text(args.size)}): mean (min-max) over seeds",
        "",
        "| family | seeds | held-out MLM | held-out NSP | downstream | downstream % of BERT | "
        "MLM % of BERT | paper: GLUE % of BERT | train s | steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family in order:
        rs = grouped[family]
        paper = PAPER.get(family, {}).get("glue")
        paper_share = f"{100 * paper / PAPER['bert']['glue']:.0f}%" if paper else "-"
        lines.append(
            f"| {family} | {len(rs)} | {_spread([r['mlm_accuracy'] for r in rs])} | "
            f"{_spread([r['nsp_accuracy'] for r in rs])} | "
            f"{_spread([r['downstream_accuracy'] for r in rs])}{_count(rs)} | "
            f"{_percent(down.get(family))} | {_percent(mlm.get(family))} | {paper_share} | "
            f"{_mean([r['train_seconds'] for r in rs]):.0f} | "
            f"{_mean([r['steps_per_second'] for r in rs]):.2f} |")
    sizes = sorted({r["size"] for r in rows}, key=lambda s: list(SIZES).index(s))
    if len(sizes) > 1:
        lines += ["", "## Sizes (the speed-accuracy frontier; first seed)", "",
                  "| family | size | held-out MLM | downstream | train s | steps/s |",
                  "|---|---|---|---|---|---|"]
        first = args.seeds[0]
        for family in sorted({r["family"] for r in rows if r["size"] != args.size}):
            for size in sizes:
                for r in rows:
                    if (r["family"], r["size"], r["seed"]) == (family, size, first):
                        lines.append(f"| {family} | {size} | {r['mlm_accuracy']:.3f} | "
                                     f"{_spread([r['downstream_accuracy']])} | "
                                     f"{r['train_seconds']:.0f} | {r['steps_per_second']:.2f} |")
    for name, caption in plots:
        lines += ["", f"![{caption}]({name})"]
    lines += ["", f"Paper: {PAPER_SOURCE}", ""]
    return "\n".join(lines)


def _size_text(size):
    s = SIZES[size]
    return f"{s['num_layers']} layers x {s['hidden_dim']} x {s['intermediate_dim']}"


def _count(rows):
    """` [k of n]` when only k of the n runs were fine-tuned."""
    k = sum(r["downstream_accuracy"] == r["downstream_accuracy"] for r in rows)
    return f" [{k} of {len(rows)}]" if 0 < k < len(rows) else ""


def _percent(value):
    return "-" if value is None or value != value else f"{100 * value:.0f}%"


def _smooth(values, window):
    import numpy as np

    values = np.asarray(values, dtype=float)
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_curves(args, curves, path):
    """Training MLM accuracy (smoothed) by step, one line per family at the main size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from keras_fnet.config import FAMILIES

    fig, ax = plt.subplots(figsize=(8, 5))
    window = max(1, args.steps // 20)
    for i, family in enumerate(FAMILIES):
        runs = [h for (f, size, _), h in sorted(curves.items())
                if f == family and size == args.size and h.get("mlm_accuracy")]
        if not runs:
            continue
        length = min(len(h["mlm_accuracy"]) for h in runs)
        smoothed = np.array([_smooth(h["mlm_accuracy"][:length], window) for h in runs])
        steps = np.asarray(runs[0]["step"][:length])[window - 1:] if length >= window \
            else np.asarray(runs[0]["step"][:length])
        color = plt.cm.tab10(i % 10)
        ax.plot(steps, smoothed.mean(0), color=color, label=f"{family} ({len(runs)} seeds)")
        if len(runs) > 1:
            ax.fill_between(steps, smoothed.min(0), smoothed.max(0), color=color, alpha=0.15)
    ax.set_xlabel("step")
    ax.set_ylabel(f"training MLM accuracy ({window}-step mean)")
    ax.set_title(f"MLM accuracy while pretraining, size {args.size} (band: min-max over seeds)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_pareto(args, rows, path):
    """Held-out MLM accuracy against training seconds, each family's sizes joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_fnet.config import FAMILIES

    fig, ax = plt.subplots(figsize=(8, 5))
    sizes = list(SIZES)
    for i, family in enumerate(FAMILIES):
        points = []
        for size in sizes:
            rs = [r for r in rows if r["family"] == family and r["size"] == size]
            if rs:
                points.append((size, rs))
        if len(points) < 2:
            continue
        color = plt.cm.tab10(i % 10)
        xs = [_mean([r["train_seconds"] for r in rs]) for _, rs in points]
        ys = [_mean([r["mlm_accuracy"] for r in rs]) for _, rs in points]
        ax.plot(xs, ys, "o-", color=color, label=family)
        for (size, rs), x, y in zip(points, xs, ys):
            ax.annotate(size, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7,
                        color=color)
            if len(rs) > 1:
                values = [r["mlm_accuracy"] for r in rs]
                ax.errorbar(x, y, yerr=[[y - min(values)], [max(values) - y]], color=color,
                            capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel(f"training seconds ({args.steps} steps, {args.backend}, log scale)")
    ax.set_ylabel("held-out MLM accuracy")
    ax.set_title("Speed-accuracy across sizes (up and left is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_ordering(args, rows, path):
    """Each family's downstream and MLM accuracy as % of BERT, beside the paper's GLUE %."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    down = shares(rows, args.size, "downstream_accuracy")
    mlm = shares(rows, args.size, "mlm_accuracy")
    families = sorted(down, key=lambda f: -(PAPER.get(f, {}).get("glue") or 0) - down[f])
    x = np.arange(len(families))
    paper = [100 * (PAPER.get(f, {}).get("glue") or np.nan) / PAPER["bert"]["glue"]
             for f in families]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    ax.bar(x - 0.27, paper, 0.27, label="paper: GLUE % of BERT-Base", color="lightgray",
           edgecolor="gray")
    ax.bar(x, [100 * down[f] for f in families], 0.27, label="here: downstream % of BERT")
    ax.bar(x + 0.27, [100 * mlm[f] for f in families], 0.27, label="here: held-out MLM % of BERT")
    ax.axhspan(92, 97, color="green", alpha=0.08, label="the paper's 92-97% for FNet")
    ax.set_xticks(x)
    ax.set_xticklabels(families, rotation=30, ha="right")
    ax.set_ylabel("% of BERT")
    ax.set_title(f"Families against BERT, here (size {args.size}) and in the paper")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _save(fig, path):
    """Save a figure whole: a temporary name, then a rename."""
    temporary = f"{path}.tmp{os.getpid()}"
    fig.savefig(temporary, dpi=120, format="png")
    os.replace(temporary, path)


PLOTS = (("_curves.png", "MLM accuracy while pretraining"),
         ("_pareto.png", "speed-accuracy across sizes"),
         ("_ordering.png", "families against BERT, here and in the paper"))


def write(args, manifest, rows, curves, stem):
    """The three plots of the study, then the Markdown report linking the plots beside it
    (without `curves`, an existing curves plot is kept) and the corpus manifest
    (`<stem>_corpus.json`, so that the report can be redrawn without the corpus); each file
    written whole."""
    if curves:
        plot_curves(args, curves, stem + "_curves.png")
    if len({r["size"] for r in rows}) > 1:
        plot_pareto(args, rows, stem + "_pareto.png")
    if "bert" in {r["family"] for r in rows}:
        plot_ordering(args, rows, stem + "_ordering.png")
    plots = [(os.path.basename(stem + suffix), caption) for suffix, caption in PLOTS
             if os.path.exists(stem + suffix)]
    for path, text in ((stem + "_corpus.json", json.dumps(manifest, indent=1, sort_keys=True)),
                       (stem + ".md", summary(args, manifest, rows, plots))):
        temporary = f"{path}.tmp{os.getpid()}"
        with open(temporary, "w") as f:
            f.write(text)
        os.replace(temporary, path)


def saved_corpus(stem):
    """The corpus manifest `write` saved beside `<stem>.md`, or None."""
    path = stem + "_corpus.json"
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)
