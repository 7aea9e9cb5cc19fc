"""Shared helpers of the benchmarks: the machine, memory, timing, workers, tables.

Every benchmark runs each Keras backend in its own worker process (the backend
is chosen by `KERAS_BACKEND`, which must be set before `keras` is imported).
A worker prints one `RESULT {json}` line per measurement on stdout and its
progress on stderr; the parent collects the rows, writes CSV and Markdown.

Timing is relative: the machine is small and shared, so the things compared
are timed in interleaved rounds inside one process (A, B, C, A, B, C, ...) and
the median of each is kept. Ratios between rows of one run are the numbers to
read; absolute times move with the load on the machine.

Memory on CPU is the resident set size (RSS). `/proc/self/status` gives the
current RSS (`VmRSS`) and its high-water mark (`VmHWM`); writing `5` to
`/proc/self/clear_refs` resets the mark, so a worker measures each model's own
peak as "high-water mark minus RSS before the model was built". Before each
model, `malloc_trim(0)` hands the heap's free pages back to the OS so that one
model's freed memory does not hide the next model's peak. (Workers used to fix
`MALLOC_MMAP_THRESHOLD_` instead; that makes every large tensor a fresh mmap
with its page faults, and made eager torch steps 2-3x slower.)

Load: every timed cell records the load average and, from `/proc/stat`, how
many cores other processes kept busy and the steal time while it ran
(`LoadMeter`): a cell timed on a busy machine says so.
"""

import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from keras_fnet import fileio

RESULT_PREFIX = "RESULT "
# The repository root: `benchmarks` and `training` run from the source tree.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The Keras backends, in the order the studies run and report them.
BACKENDS = ("jax", "tensorflow", "torch")


# ----------------------------------------------------------------------------
# The machine


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (or `platform.processor()`)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def total_memory_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def library_versions():
    """Versions of the libraries that the benchmarks use, without importing them."""
    from importlib import metadata

    versions = {}
    for name in ("keras", "tensorflow", "jax", "jaxlib", "torch", "keras-hub",
                 "transformers", "numpy", "scipy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def accelerator():
    """A GPU's name from `nvidia-smi`, or "none"."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10,
        )
        names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
        if out.returncode == 0 and names:
            return ", ".join(names)
    except (OSError, subprocess.SubprocessError):
        pass
    return "none"


def machine_description():
    """A dict describing where the numbers come from."""
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": total_memory_gb(),
        "accelerator": accelerator(),
        "os": platform.platform(),
        "python": platform.python_version(),
        **library_versions(),
    }


def saved_machine(out, stem):
    """The machine description a run wrote as `<out>/<stem>_machine.json` ({} if none)."""
    path = os.path.join(out, f"{stem}_machine.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def machine_markdown(machine):
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# Memory (Linux /proc; zeros elsewhere)


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb():
    """Current resident set size of this process, in MiB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb():
    """High-water mark of the resident set size since start or the last reset."""
    return _status_kb("VmHWM") / 1024


def reset_peak_rss():
    """Reset the RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def malloc_trim():
    """Give the C heap's free pages back to the OS (glibc; a no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# ----------------------------------------------------------------------------
# Load


def _cpu_ticks():
    """(busy, steal, total) jiffies of all CPUs from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return total - idle - steal, steal, total


def _own_ticks():
    """CPU jiffies used by this process (all threads) so far."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return float("nan")


class LoadMeter:
    """What else ran on the machine between `start()` and `stop()`.

    `stop()` returns dict(load_avg: 1-minute load average at the end,
    others_cpu: cores kept busy by other processes on average, steal_pct: CPU
    steal by the hypervisor, percent of all CPU time).
    """

    def start(self):
        self.begin = _cpu_ticks(), _own_ticks()
        return self

    def stop(self):
        (busy0, steal0, total0), own0 = self.begin
        (busy1, steal1, total1), own1 = _cpu_ticks(), _own_ticks()
        cores = os.cpu_count() or 1
        total = max(1, total1 - total0)
        others = max(0, (busy1 - busy0) - (own1 - own0)) / total * cores
        return dict(load_avg=load_average(), others_cpu=round(others, 2),
                    steal_pct=round(100 * (steal1 - steal0) / total, 1))


# ----------------------------------------------------------------------------
# Timing


def timed(fn):
    """Seconds taken by `fn()` (which must block until its result is ready)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_medians(fns, rounds, budget_s=None, min_rounds=3, log=None):
    """Time several functions in interleaved rounds; return their medians.

    Args:
        fns: dict name -> zero-argument callable that blocks until done.
        rounds: number of rounds (each round calls every function once).
        budget_s: optional time budget for all the rounds; when the rounds
            would take longer, fewer are run (at least `min_rounds`).
        log: optional callable for progress lines.

    Returns:
        dict name -> dict(median_s, p25_s, p75_s, rounds).
    """
    times = interleaved_times(fns, rounds, budget_s, min_rounds, log)
    return {name: summarize(values) for name, values in times.items()}


def interleaved_times(fns, rounds, budget_s=None, min_rounds=3, log=None):
    """Like `interleaved_medians`, but returns every time: dict name -> [seconds]."""
    times = {name: [] for name in fns}
    start = time.perf_counter()
    for r in range(rounds):
        for name, fn in fns.items():
            times[name].append(timed(fn))
        elapsed = time.perf_counter() - start
        if log:
            log(f"  round {r + 1}/{rounds} ({elapsed:.1f}s)")
        if budget_s and r + 1 >= min_rounds and elapsed / (r + 1) * (r + 2) > budget_s:
            break
    return times


def spread(values):
    """(max - min) / median of a list of times: the cell's relative spread."""
    return (max(values) - min(values)) / statistics.median(values) if values else float("nan")


def summarize(values):
    values = sorted(values)
    if not values:
        return dict(median_s=float("nan"), p25_s=float("nan"), p75_s=float("nan"), rounds=0)
    q = (statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1
         else [values[0]] * 3)
    return dict(median_s=statistics.median(values), p25_s=q[0], p75_s=q[2], rounds=len(values))


# ----------------------------------------------------------------------------
# Workers: one process per backend


def worker_env(backend, threads=None):
    """The environment of a worker: its backend and, when given, its CPU threads.

    The repository root goes first on `PYTHONPATH`: `benchmarks` (like `training`) is run from
    the source tree, not installed, so a worker finds it from any working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1")
        if threads == 1:
            flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flags).strip()
    env["KERAS_BACKEND"] = backend
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_worker(module, backend, spec, timeout_s, log=print, threads=None):
    """Run `python -m module --worker JSON` under `KERAS_BACKEND=backend`.

    Progress lines on the worker's stderr are echoed (noise from the
    frameworks' C++ logging is dropped). Returns `(rows, status)` where `rows`
    are the worker's results and `status` is "ok", "timeout" or "exit <code>".
    """
    command = [sys.executable, "-m", module, "--worker", json.dumps(spec)]
    process = subprocess.Popen(
        command, env=worker_env(backend, threads), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    rows, deadline, status = [], time.time() + timeout_s, "ok"
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while True:
        if time.time() > deadline:
            process.kill()
            status = "timeout"
            break
        if not selector.select(timeout=1.0):
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith(RESULT_PREFIX):
            rows.append(json.loads(line[len(RESULT_PREFIX):]))
        elif _interesting(line):
            log(f"[{backend}] {line.rstrip()}")
    process.wait()
    if status == "ok" and process.returncode != 0:
        status = f"exit {process.returncode}"
    return rows, status


_NOISE = ("I0000", "W0000", "E0000", "WARNING: All log messages", "To enable the following",
          "oneDNN custom operations", "cudart_stub", "cpu_feature_guard", "rebuild TensorFlow",
          "An NVIDIA GPU may be present", "Unable to register", "computation placer",
          "triggered tf.function retracing")


def _interesting(line):
    return line.strip() and not any(noise in line for noise in _NOISE)


def emit(row):
    """Worker side: hand one result row to the parent."""
    print(RESULT_PREFIX + json.dumps(row), flush=True)


def progress(message):
    """Worker side: a progress line (stderr, echoed by the parent)."""
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# Tables


def write_text(path, text, newline=None):
    """Write a file whole (`keras_fnet.fileio`): a temporary name in the same folder, then
    `os.replace`."""
    fileio.write_file(path, text, newline=newline)


def write_csv(path, rows, columns):
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    write_text(path, buffer.getvalue(), newline="")


def write_json(path, value):
    write_text(path, json.dumps(value, indent=1))


def save_figure(fig, path, dpi):
    """Save a matplotlib figure whole (the extension picks the format) and close it."""
    import matplotlib.pyplot as plt

    with fileio.whole_file(path) as temporary:
        fig.savefig(temporary, dpi=dpi, format=os.path.splitext(path)[1][1:] or None)
    plt.close(fig)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
