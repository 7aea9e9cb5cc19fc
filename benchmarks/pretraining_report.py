"""The report of the pretraining study (`benchmarks.pretraining`): tables, intervals, verdict.

`write(args, manifest, rows, predictions, curves, stem, sizes)` writes
`<stem>.md` (and `<stem>_curves.png` when training curves are given, and
`<stem>_corpus.json`). Every number in it is computed from `rows` (the CSV's)
and `predictions` (each run's test examples' correctness): 95% intervals are
percentile bootstraps over the test examples (numpy, seed 0), resampled
jointly for all runs (they share one test set), of each family's mean over
its seeds. The verdict on each claim of the paper is computed by the rules in
`CLAIMS`; a claim whose runs are missing is "not yet measured".
"""

import json
import math
import os
import statistics

import numpy as np

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
TASK_COLUMNS = {"parts": "downstream_accuracy", "pairs": "pairs_accuracy"}
REFERENCES = {"keras_hub_bert": "bert", "keras_hub_fnet": "fnet"}


def _finite(values):
    return [v for v in values if v == v and v is not None]


def _mean(values):
    values = _finite(values)
    return statistics.mean(values) if values else float("nan")


def _spread(values, digits=3):
    """`mean` or `mean (min-max)` over seeds; NaNs left out."""
    values = _finite(values)
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{_mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _key(r):
    return (r["family"], r["size"], int(r["seed"]), int(r["steps"]),
            float(f"{float(r['learning_rate']):.6g}"), r["objective"])


def main_rows(rows, size):
    """Each family's runs at `size` at its selected rate (the reference and extra families:
    their only rate), by family."""
    picked = {r["family"]: r["learning_rate"] for r in rows if r["selected"]}
    grouped = {}
    for r in rows:
        if r["size"] != size or r["phase"] == "frontier":
            continue
        if r["family"] in picked and not math.isclose(r["learning_rate"],
                                                      picked[r["family"]]):
            continue
        if r["family"] not in picked and r["phase"] == "sweep":
            continue
        grouped.setdefault(r["family"], []).append(r)
    return grouped


class Bootstrap:
    """Joint bootstrap of the test examples of every run of one task."""

    def __init__(self, grouped, predictions, task, resamples=2000, seed=0):
        self.vectors = {}
        for family, rs in grouped.items():
            vs = [predictions.get(_key(r), {}).get(task) for r in rs]
            vs = [np.frombuffer(v.encode(), dtype=np.uint8) - ord("0") for v in vs if v]
            if vs and len({len(v) for v in vs}) == 1:
                self.vectors[family] = np.stack(vs).astype(float)
        lengths = {v.shape[1] for v in self.vectors.values()}
        if len(lengths) > 1:
            raise ValueError(f"{task}: runs with test sets of different sizes {lengths}")
        n = lengths.pop() if lengths else 0
        self.index = np.random.default_rng(seed).integers(0, n, (resamples, n)) if n else None

    def __contains__(self, family):
        return family in self.vectors

    def point(self, family):
        return float(self.vectors[family].mean())

    def samples(self, family):
        """The family's seed-mean accuracy in every resample."""
        v = self.vectors[family]
        return v[:, self.index].mean(axis=2).mean(axis=0)

    def interval(self, fn, *families):
        """`(point, low, high)` of `fn(accuracies...)` (95% percentile interval)."""
        point = fn(*[self.point(f) for f in families])
        values = fn(*[self.samples(f) for f in families])
        return point, float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _seed_range(rs, column):
    values = _finite([r[column] for r in rs])
    return (min(values), max(values)) if len(values) > 1 else None


def compare(grouped, boot, column, a, b):
    """Difference a - b: `(point, low, high, exceeds)`; exceeds: the interval excludes 0 and
    (with several seeds each) the seed ranges do not overlap."""
    point, low, high = boot.interval(lambda x, y: x - y, a, b)
    ra, rb = _seed_range(grouped[a], column), _seed_range(grouped[b], column)
    apart = ra is None or rb is None or ra[1] < rb[0] or rb[1] < ra[0]
    return point, low, high, (low > 0 or high < 0) and apart


def _fmt(point, low, high, digits=3):
    return f"{point:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


# ---- The claims ---------------------------------------------------------------------


def claim_structure(grouped, boot, column):
    need = ("fnet", "random", "ff_only")
    if not all(f in boot for f in need):
        return None
    parts, verdicts = [], []
    for other in ("random", "ff_only"):
        point, low, high, exceeds = compare(grouped, boot, column, "fnet", other)
        parts.append(f"fnet - {other} {_fmt(point, low, high)}")
        verdicts.append("reproduced" if exceeds and point > 0 else
                        "not reproduced" if exceeds else "inconclusive")
    return _combine(verdicts), "; ".join(parts)


def _band(name):
    def claim(grouped, boot, column):
        if not all(f in boot for f in (name, "bert")):
            return None
        point, low, high = boot.interval(lambda x, y: x / y, name, "bert")
        text = f"{name} / bert {point:.3f} [{low:.3f}, {high:.3f}] (paper 0.92-0.97)"
        if high < 0.92 or low > 0.97:
            return "not reproduced", text
        if 0.92 <= point <= 0.97 and high < 1:
            return "reproduced", text
        return "inconclusive", text
    return claim


def claim_hybrid(grouped, boot, column):
    if not all(f in boot for f in ("bert", "fnet", "fnet_hybrid")):
        return None
    gap = compare(grouped, boot, column, "bert", "fnet")
    point, low, high = boot.interval(lambda b, f, h: (h - f) / np.where(b - f == 0, np.nan,
                                                                        b - f),
                                     "bert", "fnet", "fnet_hybrid")
    text = (f"gap bert - fnet {_fmt(*gap[:3])}; share recovered by the hybrid "
            f"{point:.2f} [{low:.2f}, {high:.2f}] (most: > 0.5)")
    if not (gap[3] and gap[0] > 0):
        return "inconclusive", text + "; no gap beyond noise to recover"
    if low > 0.5:
        return "reproduced", text
    if high < 0.5:
        return "not reproduced", text
    return "inconclusive", text


def claim_trail(grouped, boot, column):
    present = [f for f in ("dct", "hadamard") if f in boot]
    if "fnet" not in boot or not present:
        return None
    parts, verdicts = [], []
    for other in present:
        point, low, high, exceeds = compare(grouped, boot, column, "fnet", other)
        parts.append(f"fnet - {other} {_fmt(point, low, high)}")
        verdicts.append("reproduced" if exceeds and point > 0 else
                        "not reproduced" if exceeds else "inconclusive")
    missing = [f for f in ("dct", "hadamard") if f not in present]
    if missing:
        parts.append(f"{', '.join(missing)} not yet measured")
    return _combine(verdicts), "; ".join(parts)


def claim_ff_only(grouped, boot, column):
    others = [f for f in boot.vectors if f != "ff_only" and f not in REFERENCES]
    if "ff_only" not in boot or len(others) < 2:
        return None
    verdicts, worst = [], None
    for other in others:
        point, low, high, exceeds = compare(grouped, boot, column, other, "ff_only")
        verdicts.append("reproduced" if exceeds and point > 0 else
                        "not reproduced" if exceeds else "inconclusive")
        if worst is None or point < worst[1]:
            worst = (other, point, low, high)
    text = (f"closest family {worst[0]}: {worst[0]} - ff_only "
            f"{_fmt(*worst[1:])} (over {len(others)} families)")
    return ("not reproduced" if "not reproduced" in verdicts else
            "reproduced" if all(v == "reproduced" for v in verdicts) else "inconclusive"), text


def suite_speed(path, backend):
    """Training steps/s by family from the speed suite's `speed.csv` at `path` (its `lengths`
    cells at the paper's length 512, `backend`; 2 layers x 128, batch 16):
    `{family: (median, slowest, fastest)}`, or {} without it. The suite times the families
    interleaved on an otherwise idle machine; the study's own steps/s (length 64) come from
    runs that shared the machine with another run, whichever it was."""
    if not path or not os.path.exists(path):
        return {}
    import csv

    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["suite"] == "lengths" and r["mode"] == "train"
                and r["backend"] == backend and r["source"] == "keras_fnet"
                and r["status"] == "ok" and r["length"] == "512"]
    return {r["model"]: (1000 / float(r["median_ms"]), 1000 / float(r["max_ms"]),
                         1000 / float(r["min_ms"])) for r in rows}


def claim_frontier(grouped, boot, column, speeds=None):
    """FNet or Linear on the speed-accuracy frontier (no family both faster and better) and
    faster than BERT (at its slowest against BERT at its fastest), at the main size. Speed:
    the speed suite's (`speeds`, see `suite_speed`) where it has every family, else the
    study's train steps/s over seeds."""
    families = [f for f in boot.vectors if f not in REFERENCES]
    if not all(f in families for f in ("bert", "fnet")):
        return None
    if speeds and all(f in speeds for f in ("bert", "fnet")):
        families = [f for f in families if f in speeds]
        speed = {f: speeds[f][0] for f in families}
        slow = {f: speeds[f][1] for f in families}
        fast = {f: speeds[f][2] for f in families}
        each = "every round"
        source = ("training steps/s at length 512 from the speed suite (speed.csv; the "
                  "study's own at length 64, two runs at a time: " + ", ".join(
                      f"{f} {_mean([r['steps_per_second'] for r in grouped[f]]):.2f}"
                      for f in families) + ")")
    else:
        speed = {f: _mean([r["steps_per_second"] for r in grouped[f]]) for f in families}
        slow = {f: min(r["steps_per_second"] for r in grouped[f]) for f in families}
        fast = {f: max(r["steps_per_second"] for r in grouped[f]) for f in families}
        each, source = "every seed", "the study's training steps/s"
    accuracy = {f: boot.point(f) for f in families}
    frontier = [f for f in families if not any(
        speed[g] >= speed[f] and accuracy[g] >= accuracy[f]
        and (speed[g], accuracy[g]) != (speed[f], accuracy[f]) for g in families if g != f)]
    candidates = [f for f in ("fnet", "linear") if f in families]
    faster = [f for f in candidates if slow[f] > fast["bert"]]
    on = [f for f in faster if f in frontier]
    text = (f"frontier {sorted(frontier, key=lambda f: -speed[f])}; {source}: " +
            ", ".join(f"{f} {speed[f]:.2f}" for f in sorted(speed, key=lambda f: -speed[f])))
    if on:
        return "reproduced", text + f"; {', '.join(on)} faster than bert ({each}) and on it"
    if not faster:
        return "not reproduced", text + "; neither fnet nor linear faster than bert"
    return "not reproduced", text + "; faster than bert but off the frontier"


def _combine(verdicts):
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    if all(v == "not reproduced" for v in verdicts):
        return "not reproduced"
    return "inconclusive"


CLAIMS = (
    ("Structure matters: FNet beats random mixing and no mixing (FF-only)", claim_structure),
    ("FNet reaches 92-97% of BERT's accuracy", _band("fnet")),
    ("Linear reaches 92-97% of BERT's accuracy", _band("linear")),
    ("The hybrid (attention in the top layers) recovers most of FNet's gap to BERT",
     claim_hybrid),
    ("DCT and Hadamard mixing trail the DFT", claim_trail),
    ("FF-only is the poorest family", claim_ff_only),
    ("FNet / Linear lie on the speed-accuracy frontier, faster than BERT", claim_frontier),
)


def above_chance(boot, chance):
    """The families whose 95% interval lies above `chance` (all of them when it is None)."""
    return [f for f in boot.vectors if chance is None
            or boot.interval(lambda x: x, f)[1] > chance]


def verdict(grouped, boots, chances=None, speeds=None):
    """`[(claim, {task: (verdict, evidence)}, overall)]`. A task on which fewer than two
    of the zoo's families are above `chances[task]` cannot tell the families apart: its
    verdicts are "inconclusive"."""
    out = []
    for claim, fn in CLAIMS:
        per_task = {}
        for task, boot in boots.items():
            kwargs = {"speeds": speeds} if fn is claim_frontier else {}
            got = fn(grouped, boot, TASK_COLUMNS[task], **kwargs) if boot.vectors else None
            chance = (chances or {}).get(task)
            zoo = [f for f in above_chance(boot, chance) if f not in REFERENCES]
            if got and len(zoo) < 2:
                got = ("inconclusive", f"{got[1]}; on this task at most one family is above "
                       f"chance ({chance:.2f}): it cannot tell the families apart")
            per_task[task] = got or ("not yet measured", "its runs are missing")
        informative = {t: ve for t, ve in per_task.items()
                       if "cannot tell the families apart" not in ve[1]}
        verdicts = {v for v, _ in (informative or per_task).values()} - {"not yet measured"}
        overall = ("not yet measured" if not verdicts else verdicts.pop()
                   if len(verdicts) == 1 else "inconclusive (the tasks disagree)")
        out.append((claim, per_task, overall))
    return out


# ---- The Markdown --------------------------------------------------------------------


def reference_lines(grouped):
    lines = ["", "## The zoo's BERT and FNet against keras-hub's (held-out test MLM accuracy)",
             "", "| zoo family | zoo | keras-hub | difference | seed noise (larger range) | "
             "within noise |", "|---|---|---|---|---|---|"]
    for reference, zoo in REFERENCES.items():
        if reference not in grouped or zoo not in grouped:
            lines.append(f"| {zoo} | - | - | - | - | not yet measured |")
            continue
        a = [r["mlm_accuracy"] for r in grouped[zoo]]
        b = [r["mlm_accuracy"] for r in grouped[reference]]
        noise = max(max(a) - min(a), max(b) - min(b))
        diff = _mean(a) - _mean(b)
        within = "yes" if abs(diff) <= noise and len(a) > 1 and len(b) > 1 else (
            "no" if len(a) > 1 and len(b) > 1 else "one seed: unknown")
        lines.append(f"| {zoo} | {_spread(a)} | {_spread(b)} | {diff:+.4f} | {noise:.4f} | "
                     f"{within} |")
    return lines


def sweep_lines(rows, size):
    sweep = [r for r in rows if r["phase"] == "sweep" and r["size"] == size]
    rates = sorted({r["learning_rate"] for r in sweep})
    if not sweep:
        return []
    lines = ["", "## Learning-rate sweep (first seed; held-out validation MLM accuracy, "
             "the rate picked marked *)", "",
             "| family | " + " | ".join(f"{x:g}" for x in rates) + " |",
             "|---" * (len(rates) + 1) + "|"]
    for family in sorted({r["family"] for r in sweep}):
        cells = []
        for rate in rates:
            r = [r for r in sweep if r["family"] == family and r["learning_rate"] == rate]
            cells.append("-" if not r else f"{r[0]['validation_mlm_accuracy']:.4f}"
                         + ("*" if r[0]["selected"] else ""))
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    edge = []
    for family in sorted({r["family"] for r in sweep}):
        tried = sorted(r["learning_rate"] for r in sweep if r["family"] == family)
        picked = [r["learning_rate"] for r in sweep if r["family"] == family and r["selected"]]
        if picked and len(tried) > 1 and picked[0] in (tried[0], tried[-1]):
            edge.append(f"{family} ({picked[0]:g})")
    lines += ["", "Picked at an end of the range tried (the best rate may lie beyond it): "
              + (", ".join(edge) if edge else "none") + "."]
    return lines


def chances(manifest):
    """Each task's chance accuracy: both are balanced (parts: the same paragraphs per part;
    pairs: half own second halves). None where unknown."""
    classes = (manifest or {}).get("downstream_classes")
    return {"parts": 1 / len(classes) if classes else None, "pairs": 0.5}


def chance_lines(boots, chance):
    lines = ["", "## Which tasks tell the families apart (95% interval above chance)", ""]
    for task, boot in boots.items():
        if not boot.vectors:
            continue
        level = chance.get(task)
        if level is None:
            continue
        above = [f for f in above_chance(boot, level) if f not in REFERENCES]
        at = sorted(f for f in boot.vectors if f not in above and f not in REFERENCES)
        lines.append(f"- `{task}` (chance {level:.2f}): above chance "
                     f"{', '.join(sorted(above)) or 'none'}; at chance {', '.join(at) or 'none'}"
                     + ("; this task cannot tell the families apart at this budget."
                        if len(above) < 2 else "."))
    return lines


def summary(args, manifest, rows, predictions, sizes, plots=(), speeds=None):
    grouped = main_rows(rows, args.size)
    boots = {t: Bootstrap(grouped, predictions, t, args.bootstrap) for t in TASK_COLUMNS}
    chance = chances(manifest)
    dims = sizes[args.size]
    steps = " / ".join(str(n) for n in sorted({r["steps"] for r in rows})) or args.steps
    lines = ["# Pretraining study", ""]
    if manifest:
        lines += [
            f"Corpus: {manifest['files']} files of {manifest['settings']['source']} (sha256 "
            f"{manifest['source_sha256'][:12]}), {sum(manifest['paragraphs'].values())} prose "
            f"paragraphs: {manifest['paragraphs']['pretrain']} for pretraining "
            f"({manifest['words']['pretrain']:,} words), {manifest['paragraphs']['heldout']} "
            "held out (half validation, half test); SentencePiece vocabulary of at most "
            f"{manifest['settings']['vocab_size']} pieces trained on the pretraining paragraphs "
            "only.", ""]
    lines += [
        f"Every run: size {args.size} ({dims['num_layers']} layers, hidden "
        f"{dims['hidden_dim']}, feed-forward {dims['intermediate_dim']}, "
        f"{dims['num_heads']} heads where there is attention), objective {args.objective} "
        f"(keras-hub's models: mlm), {steps} steps of batch {args.batch_size} at length "
        f"{args.max_length}, AdamW with 10% warm-up and linear decay at each family's peak "
        f"rate (picked on validation MLM), {args.backend}, {args.workers} runs at a time. "
        f"MLM/NSP accuracy on {args.eval_batches} batches of held-out test paragraphs. "
        f"Downstream ({args.finetune_steps} steps at peak rate {args.finetune_learning_rate}): "
        "`parts`, which part of the documentation a paragraph comes from; `pairs`, whether "
        "the second half of a paragraph is its own or another's. Intervals: 95% bootstrap "
        f"({args.bootstrap} resamples of the test examples, seed 0) of the seed mean.", "",
        "The study's sizes are named by their width (`h128`: 4 x 128); `keras_fnet.SIZES` "
        "names other models (`tiny` 2 x 128, `mini` 4 x 256, `small` 4 x 512).",
    ]
    lines += sweep_lines(rows, args.size)
    lines += ["", f"## Size {args.size}: every family at its rate, mean (min-max) over seeds "
              "[95% interval]", "",
              "| family | rate | seeds | test MLM | NSP | parts | pairs | MLM gain, last quarter "
              "| train s | steps/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for family in sorted(grouped, key=lambda f: -_mean([r["mlm_accuracy"]
                                                        for r in grouped[f]])):
        rs = grouped[family]
        cells = []
        for task, column in TASK_COLUMNS.items():
            text = _spread([r[column] for r in rs])
            if family in boots[task]:
                _, low, high = boots[task].interval(lambda x: x, family)
                text += f" [{low:.3f}, {high:.3f}]"
            cells.append(text)
        lines.append(
            f"| {family} | {rs[0]['learning_rate']:g} | {len(rs)} | "
            f"{_spread([r['mlm_accuracy'] for r in rs])} | "
            f"{_spread([r['nsp_accuracy'] for r in rs])} | {cells[0]} | {cells[1]} | "
            f"{_spread([r['mlm_gain_last_quarter'] for r in rs])} | "
            f"{_mean([r['train_seconds'] for r in rs]):.0f} | "
            f"{_mean([r['steps_per_second'] for r in rs]):.2f} |")
    gains = _finite([r["mlm_gain_last_quarter"] for rs in grouped.values() for r in rs])
    if gains:
        lines += ["", "Plateau (validation MLM gain over the last quarter < 0.005; measured from "
                  "the last validation pass at or before 3/4 of the steps, so over at least the "
                  f"last quarter): "
                  f"{sum(g < 0.005 for g in gains)} of {len(gains)} runs; the others stopped "
                  f"at the step budget of {steps}."]
    lines += reference_lines(grouped)
    lines += ["", "## Differences from BERT (a - bert, [95% interval]; beyond noise: the "
              "interval excludes 0 and the seed ranges do not overlap)", "",
              "| family | " + " | ".join(TASK_COLUMNS) + " |", "|---" * 3 + "|"]
    for family in sorted(grouped):
        if family == "bert" or family in REFERENCES:
            continue
        cells = []
        for task, column in TASK_COLUMNS.items():
            boot = boots[task]
            if family in boot and "bert" in boot:
                point, low, high, exceeds = compare(grouped, boot, column, family, "bert")
                cells.append(_fmt(point, low, high) + (" beyond noise" if exceeds else ""))
            else:
                cells.append("-")
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += chance_lines(boots, chance)
    lines += ["", "## Verdict on the paper's claims (computed from the rows above)", "",
              "| claim | verdict | " + " | ".join(f"{t} evidence" for t in TASK_COLUMNS) + " |",
              "|---|---|" + "---|" * len(TASK_COLUMNS)]
    for claim, per_task, overall in verdict(grouped, boots, chance, speeds):
        lines.append(f"| {claim} | {overall} | " + " | ".join(
            f"{v}: {e}" for v, e in per_task.values()) + " |")
    for name, caption in plots:
        lines += ["", f"![{caption}]({name})"]
    lines += ["", f"Paper: {PAPER_SOURCE}", ""]
    return "\n".join(lines)


def plot_curves(args, rows, curves, path):
    """Held-out validation MLM accuracy by step of every family's main runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grouped = main_rows(rows, args.size)
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (family, rs) in enumerate(sorted(grouped.items())):
        histories = [curves[_key(r)] for r in rs if _key(r) in curves]
        histories = [h for h in histories if h.get("val_mlm_accuracy")]
        for j, h in enumerate(histories):
            ax.plot(h["val_step"], h["val_mlm_accuracy"], color=plt.cm.tab10(i % 10),
                    label=family if j == 0 else None, alpha=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("held-out validation MLM accuracy")
    ax.set_title(f"MLM accuracy while pretraining, size {args.size} (one line per seed)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    temporary = f"{path}.tmp{os.getpid()}"
    fig.savefig(temporary, dpi=110, format="png")
    os.replace(temporary, path)
    plt.close(fig)


def write(args, manifest, rows, predictions, curves, stem, sizes):
    """`<stem>.md`, the curves plot (kept when no `curves`) and `<stem>_corpus.json`, each
    written whole."""
    if curves:
        plot_curves(args, rows, curves, stem + "_curves.png")
    plots = [(os.path.basename(stem + "_curves.png"), "validation MLM accuracy while "
              "pretraining")] if os.path.exists(stem + "_curves.png") else []
    speeds = suite_speed(os.path.join(os.path.dirname(stem), "speed.csv"), args.backend)
    files = [(stem + ".md", summary(args, manifest, rows, predictions, sizes, plots, speeds))]
    if manifest:
        files.append((stem + "_corpus.json", json.dumps(manifest, indent=1, sort_keys=True)))
    for path, text in files:
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
