"""The speed benchmark's report: `speed.md` and `speed_lengths.md` from `speed.csv`.

The plots are drawn by `speed_plots`.

Every time is shown as `median (min-max)` over its interleaved rounds; a cell
whose spread stayed above the limit after its second timing is starred. Ratios
(the targets of `speed_targets`) are medians of per-round ratios, with their
min-max, so two models timed in the same rounds share the machine's load.
"""

import math
import os
import statistics

from benchmarks import common, speed_plots
from benchmarks.speed_targets import BERTS, FASTEST_BERT, TARGETS

SINGLE_LENGTH = ("main", "small")
BY_LENGTH = {"lengths": "tokens per batch fixed", "lengths_batch": "batch fixed"}


def index(rows):
    return {(r["suite"], r["backend"], r["model"], r["mode"], int(r["length"])): r for r in rows}


def ok(row):
    return bool(row) and row.get("status") == "ok"


def ms(row):
    return common.as_float(row["median_ms"]) if ok(row) else float("nan")


def times(row):
    return [float(v) for v in row.get("times_ms", "").split()] if ok(row) else []


def ratio(a, b):
    """(median, min, max) of a/b over the rounds both were timed in (nan if none)."""
    ta, tb = times(a), times(b)
    if not ta or not tb:
        return (float("nan"),) * 3
    if len(ta) != len(tb):  # Not timed in the same rounds: medians only.
        value = statistics.median(ta) / statistics.median(tb)
        return value, value, value
    per_round = [x / y for x, y in zip(ta, tb)]
    return statistics.median(per_round), min(per_round), max(per_round)


def fastest_bert(table, suite, backend, mode, length):
    rows = [table.get((suite, backend, m, mode, length)) for m in BERTS]
    rows = [r for r in rows if ok(r)]
    return min(rows, key=ms) if rows else None


def _row(table, name, suite, backend, mode, length):
    if name == FASTEST_BERT:
        return fastest_bert(table, suite, backend, mode, length)
    return table.get((suite, backend, name, mode, length))


def targets(rows):
    """One dict per (target, suite, backend, mode) that has both rows."""
    table = index(rows)
    out = []
    for name, suites, modes, model, reference, limit, sense in TARGETS:
        for suite in suites:
            lengths = sorted({k[4] for k in table if k[0] == suite})
            for length in lengths:
                for backend in common.BACKENDS:
                    for mode in modes:
                        a = _row(table, model, suite, backend, mode, length)
                        b = _row(table, reference, suite, backend, mode, length)
                        value, low, high = ratio(a, b)
                        if math.isnan(value):
                            continue
                        met = None if sense == "info" else (
                            value <= limit if sense == "le" else value >= limit)
                        out.append(dict(target=name, suite=suite, backend=backend, mode=mode,
                                        length=length, value=value, low=low, high=high,
                                        limit=limit, sense=sense, met=met,
                                        models=f"{a['model']} / {b['model']}"))
    return out


def cell(row, fmt="{:.0f}"):
    """`median (min-max)`, starred when the spread stayed wide; the status otherwise."""
    if not row:
        return ""
    if not ok(row):
        return row.get("status", "").split(" (")[0] or "missing"
    low, high = common.as_float(row["min_ms"]), common.as_float(row["max_ms"])
    star = "*" if row.get("flags") == "wide" else ""
    return f"{fmt.format(ms(row))} ({fmt.format(low)}-{fmt.format(high)}){star}"


def _load(rows):
    others = [common.as_float(r.get("others_cpu")) for r in rows if ok(r)]
    loads = [common.as_float(r.get("load_avg")) for r in rows if ok(r)]
    others = [v for v in others if not math.isnan(v)]
    loads = [v for v in loads if not math.isnan(v)]
    if not others:
        return "n/a"
    return (f"other processes kept {min(others):.1f}-{max(others):.1f} cores busy, load average "
            f"{min(loads):.1f}-{max(loads):.1f}")


def _models(rows):
    names = []
    for r in rows:
        if r["model"] not in names:
            names.append(r["model"])
    return names


def single_length_section(suite, rows, table, backends):
    r0 = rows[0]
    length, batch = int(r0["length"]), r0["batch"]
    lines = [f"## Suite `{suite}`: {r0['num_layers']} layers, hidden {r0['hidden_dim']}, "
             f"feed-forward {r0['intermediate_dim']}, {r0['num_heads']} heads, length {length}, "
             f"batch {batch}", "",
             "Milliseconds per step, median (min-max) over interleaved rounds; * = spread still "
             "above the limit after a second timing.", ""]
    modes = [m for m in ("train", "infer") if any(r["mode"] == m for r in rows)]
    header = ["model"] + [f"{b} {m}" for m in modes for b in backends]
    header += [f"{b} train RSS MB" for b in backends]
    body = []
    for model in _models(rows):
        cells = [model] + [cell(table.get((suite, b, model, m, length)))
                           for m in modes for b in backends]
        for b in backends:
            train_row = table.get((suite, b, model, "train", length)) or {}
            mem = common.as_float(train_row.get("rss_growth_mb"))
            cells.append("" if math.isnan(mem) else f"{mem:.0f}")
        body.append(cells)
    lines += [common.markdown_table(header, body), ""]
    for b in backends:
        lines.append(f"- {b}: {_load([r for r in rows if r['backend'] == b])}.")
    return lines + [""]


def by_length_section(suite, rows, table, backends):
    r0 = rows[0]
    lengths = sorted({int(r["length"]) for r in rows})
    batches = ", ".join(f"{n}: {next(r['batch'] for r in rows if int(r['length']) == n)}"
                        for n in lengths)
    pairs = [(m, b) for m in _models(rows) for b in backends
             if any((r["model"], r["backend"]) == (m, b) for r in rows)]
    lines = [f"## Suite `{suite}` ({BY_LENGTH.get(suite, '')}): {r0['num_layers']} layers, hidden "
             f"{r0['hidden_dim']}, feed-forward {r0['intermediate_dim']}, {r0['num_heads']} heads",
             "",
             f"Batch per length: {batches}. Time: ms per step, median (min-max); memory: "
             "RSS growth in MB during the model's build, compile and first steps. `timeout` = a "
             "warm step over the time limit (longer lengths are then not run).", ""]
    for mode in [m for m in ("infer", "train") if any(r["mode"] == m for r in rows)]:
        header = ["model", "backend"] + [str(n) for n in lengths]
        timing = [[m, b] + [cell(table.get((suite, b, m, mode, n))) for n in lengths]
                  for m, b in pairs]
        memory = []
        for m, b in pairs:
            cells = []
            for n in lengths:
                r = table.get((suite, b, m, mode, n))
                mem = common.as_float((r or {}).get("rss_growth_mb"))
                cells.append(f"{mem:.0f}" if r and not math.isnan(mem) else cell(r))
            memory.append([m, b] + cells)
        lines += [f"### {mode}: time", "", common.markdown_table(header, timing), "",
                  f"### {mode}: memory", "", common.markdown_table(header, memory), ""]
    for b in sorted({b for _, b in pairs}):
        lines.append(f"- {b}: {_load([r for r in rows if r['backend'] == b])}.")
    return lines + [""]


def targets_section(rows):
    checks = targets(rows)
    if not checks:
        return []
    body = []
    for c in checks:
        limit = ("" if c["limit"] is None
                 else ("<= " if c["sense"] == "le" else ">= ") + f"{c['limit']:g}")
        met = "" if c["met"] is None else ("yes" if c["met"] else "**no**")
        body.append([c["target"], c["suite"], c["length"], c["backend"], c["mode"], c["models"],
                     f"{c['value']:.2f} ({c['low']:.2f}-{c['high']:.2f})", limit, met])
    return ["## Targets", "",
            "Ratio of step times, median (min-max) of the per-round ratios of interleaved timings.",
            "",
            common.markdown_table(["target", "suite", "length", "backend", "mode", "rows", "ratio",
                                   "limit", "met"],
                                  body), ""]


INTRO = ("Produced by `python -m benchmarks.speed`. Models of one backend, length and mode are "
         "timed in interleaved rounds in one process; compare them as ratios. The load lines say "
         "how busy the machine was.")


def _settings(rows):
    settings = sorted({(r["backend"], r["source"], r.get("jit", ""), r.get("threads", ""))
                       for r in rows if r.get("jit")})
    return ["Compilation and threads: " + "; ".join(
        f"{b} {s}: {j}, threads {t or 'default'}" for b, s, j, t in settings) + ".", ""]


def _sections(rows, suites, section):
    table = index(rows)
    backends = [b for b in common.BACKENDS if any(r["backend"] == b for r in rows)]
    lines = []
    for suite in suites:
        suite_rows = [r for r in rows if r["suite"] == suite]
        if suite_rows:
            lines += section(suite, suite_rows, table, backends)
    return lines


def has_lengths(rows):
    return any(r["suite"] in BY_LENGTH for r in rows)


def render(rows, machine, plots=()):
    """`speed.md`: the targets and the suites at one length; `plots`: the files drawn."""
    lines = ["# Speed and memory of the zoo, per backend", "", INTRO, ""]
    lines += targets_section(rows)
    lines += _settings(rows)
    lines += _sections(rows, SINGLE_LENGTH, single_length_section)
    if "speed_ratios.png" in plots:
        lines += ["![ratios to each backend's references](speed_ratios.png)", ""]
    if has_lengths(rows):
        lines += ["Time and memory by sequence length: [speed_lengths.md](speed_lengths.md).", ""]
    lines += ["## Machine", "", common.machine_markdown(machine), ""]
    return "\n".join(lines)


def render_lengths(rows, machine, plots=()):
    """`speed_lengths.md`: the length sweeps; `plots`: the files drawn."""
    lines = ["# Speed and memory by sequence length", "", INTRO, ""]
    lines += _settings([r for r in rows if r["suite"] in BY_LENGTH])
    lines += _sections(rows, BY_LENGTH, by_length_section)
    if "speed_lengths.png" in plots:
        lines += ["![time and memory vs length](speed_lengths.png)", ""]
    lines += ["## Machine", "", common.machine_markdown(machine), ""]
    return "\n".join(lines)


def write(out, machine=None):
    """`speed.md`, `speed_lengths.md` (when the run has length sweeps) and the plots."""
    rows = common.read_csv(os.path.join(out, "speed.csv"))
    if machine is None:
        machine = common.saved_machine(out, "speed")
    try:
        plots = speed_plots.draw(rows, out, targets(rows))
    except ImportError as error:  # A bare GPU host may have no matplotlib.
        print(f"speed: no plots ({error})")
        plots = []
    common.write_text(os.path.join(out, "speed.md"), render(rows, machine, plots))
    lengths = os.path.join(out, "speed_lengths.md")
    if has_lengths(rows):
        common.write_text(lengths, render_lengths(rows, machine, plots))
    elif os.path.exists(lengths):  # Left by an earlier run in the same folder.
        os.remove(lengths)


def reproduction(reference_rows, rows):
    """How a rerun compares with a reference run, cell by cell and target by target.

    A cell reproduces when the rerun's median lies within the reference's
    min-max over its rounds (its stated spread); a target ratio, when the
    rerun's median ratio lies within the reference's min-max of per-round
    ratios. Only cells that ran ("ok") in both runs are compared.
    """
    reference = index(reference_rows)
    cells = []
    for key, row in index(rows).items():
        ref = reference.get(key)
        if not (ok(row) and ok(ref)):
            continue
        low, high = common.as_float(ref["min_ms"]), common.as_float(ref["max_ms"])
        cells.append(dict(zip(("suite", "backend", "model", "mode", "length"), key),
                          reference=ms(ref), low=low, high=high, rerun=ms(row),
                          within=low <= ms(row) <= high))
    # Ratios of the same two rows as in the reference (its fastest BERT, not the rerun's);
    # a row against itself (the fastest BERT was the project's own) says nothing.
    table = index(rows)
    own = {(c["target"], c["suite"], c["backend"], c["mode"], c["length"]): c
           for c in targets(rows)}
    ratios = []
    for ref in targets(reference_rows):
        a, b = ref["models"].split(" / ")
        if a == b:
            continue
        key = (ref["suite"], ref["backend"], ref["mode"], ref["length"])
        value, _, _ = ratio(table.get((key[0], key[1], a, key[2], key[3])),
                            table.get((key[0], key[1], b, key[2], key[3])))
        if math.isnan(value):
            continue
        rerun = own.get((ref["target"],) + key)
        ratios.append(dict(ref, reference=ref["value"], ref_low=ref["low"], ref_high=ref["high"],
                           value=value, within=ref["low"] <= value <= ref["high"],
                           same_verdict=rerun is not None and rerun["met"] == ref["met"]))
    return cells, ratios


def _share(items):
    return f"{sum(i['within'] for i in items)} of {len(items)}"


def render_reproduction(reference_dir, reference_rows, rows):
    cells, ratios = reproduction(reference_rows, rows)
    changes = [c["rerun"] / c["reference"] for c in cells if c["reference"] > 0]
    limited = [r for r in ratios if r["sense"] != "info"]
    lines = ["# Reproduction of the speed tables", "",
             f"The run in this folder against `{reference_dir}/speed.csv`: a cell reproduces when "
             "this run's median lies within the reference's min-max (its stated spread), a target "
             "ratio when this run's median ratio lies within the reference's min-max of per-round "
             f"ratios. Produced by `python -m benchmarks.speed --compare {reference_dir}`.", ""]
    if not cells:
        return "\n".join(lines + ["No cell ran in both runs.", ""])
    lines += [f"- Cells: {_share(cells)} rerun medians within the reference's min-max; rerun / "
              f"reference median {statistics.median(changes):.2f} (range {min(changes):.2f}-"
              f"{max(changes):.2f}).",
              f"- Target ratios (the same two rows as in the reference): {_share(ratios)} within "
              f"the reference's range; of those with a limit, the rerun's own verdict "
              f"(met / missed, against its own fastest BERT) is the reference's for "
              f"{sum(r['same_verdict'] for r in limited)} of {len(limited)}.", ""]
    body = [[r["target"], r["suite"], r["backend"], r["mode"], r["models"],
             f"{r['reference']:.2f} ({r['ref_low']:.2f}-{r['ref_high']:.2f})", f"{r['value']:.2f}",
             "yes" if r["within"] else "**no**"] for r in ratios]
    lines += ["## Target ratios", "",
              common.markdown_table(["target", "suite", "backend", "mode", "rows", "reference",
                                     "rerun", "within"], body), ""]
    body = [[c["suite"], c["length"], c["backend"], c["model"], c["mode"],
             f"{c['reference']:.0f} ({c['low']:.0f}-{c['high']:.0f})", f"{c['rerun']:.0f}",
             f"{c['rerun'] / c['reference']:.2f}", "yes" if c["within"] else "**no**"]
            for c in sorted(cells, key=lambda c: (c["suite"], c["length"], c["backend"], c["mode"],
                                                  c["model"]))]
    lines += ["## Cells (ms per step)", "",
              common.markdown_table(["suite", "length", "backend", "model", "mode", "reference",
                                     "rerun", "rerun / reference", "within"], body), ""]
    return "\n".join(lines)


def write_reproduction(out, reference_dir):
    """`speed_reproduction.md` in `out`: its speed.csv against `reference_dir`'s."""
    text = render_reproduction(reference_dir,
                               common.read_csv(os.path.join(reference_dir, "speed.csv")),
                               common.read_csv(os.path.join(out, "speed.csv")))
    common.write_text(os.path.join(out, "speed_reproduction.md"), text)
    return text
