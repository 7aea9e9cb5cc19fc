"""Smoke test of `python -m benchmarks.speed`: runs end to end at toy sizes.

Only the files and their columns/rows are checked; timings are never asserted.
"""

import csv
import os
import subprocess
import sys

import keras

from benchmarks import speed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module, *flags):
    out = subprocess.run([sys.executable, "-m", module, *flags], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def test_speed_quick_writes_csv_markdown_and_plots(tmp_path):
    backend = keras.backend.backend()
    _run("benchmarks.speed", "--quick", "--suite", "main", "--backends", backend,
         "--models", "fnet,ff_only,bert", "--lengths", "16", "--modes", "train,infer",
         "--out", str(tmp_path))
    with open(tmp_path / "speed.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == speed.COLUMNS
    got = {(r["backend"], r["model"], r["mode"], r["length"]) for r in rows}
    assert got == {(backend, m, mode, "16") for m in ("fnet", "ff_only", "bert")
                   for mode in ("train", "infer")}
    for r in rows:
        assert r["status"] == "ok", r
        assert float(r["median_ms"]) > 0 and float(r["tokens_per_s"]) > 0
        assert r["batch"] == "2" and r["hidden_dim"] == "16"
    assert {r["fourier"] for r in rows if r["model"] == "fnet"} <= {"fft", "dft"}
    text = (tmp_path / "speed.md").read_text()
    assert "## Suite `main`" in text and "| fnet |" in text
    for name in ("speed_lengths.png", "speed_backends.png"):
        assert (tmp_path / name).stat().st_size > 1000
    # The report redraws from the CSV alone.
    os.remove(tmp_path / "speed.md")
    _run("benchmarks.speed", "--report-only", "--out", str(tmp_path))
    assert (tmp_path / "speed.md").exists()


def test_speed_records_models_over_the_limits(tmp_path):
    backend = keras.backend.backend()
    _run("benchmarks.speed", "--quick", "--suite", "long", "--backends", backend,
         "--models", "fnet,bert", "--lengths", "32", "--max-memory-gb", "0",
         "--time-limit", "1e-9", "--out", str(tmp_path))
    with open(tmp_path / "speed.csv", newline="") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    assert rows["bert"]["status"].startswith("oom (estimated")
    assert rows["fnet"]["status"].startswith("timeout")


def test_suite_flags_override_presets():
    args = speed.parse_args(["--suite", "long", "--lengths", "64,128", "--batch", "3",
                             "--hidden-dim", "32", "--models", "fnet"])
    (spec,) = speed.suite_specs(args)
    assert spec["lengths"] == [64, 128] and spec["hidden_dim"] == 32
    assert spec["models"] == ["fnet"] and speed.batch_for(spec, 128) == 3
    (spec,) = speed.suite_specs(speed.parse_args(["--suite", "long"]))
    assert speed.batch_for(spec, 128) == 64 and speed.batch_for(spec, 8192) == 1
