"""Smoke test of `python -m benchmarks.mixing`: runs end to end at toy sizes.

Only the files and their columns/rows are checked; timings are never asserted.
"""

import csv
import os
import subprocess
import sys

import keras

from benchmarks import mixing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_mixing_quick_writes_csv_markdown_and_plot(tmp_path):
    backend = keras.backend.backend()
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.mixing", "--quick", "--backends", backend,
         "--lengths", "12,16", "--dft-max-length", "12", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    with open(tmp_path / "mixing.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == mixing.COLUMNS
    keyed = {(r["backend"], r["implementation"], r["pass"], r["length"]): r for r in rows}
    for impl in mixing.IMPLEMENTATIONS:
        for pass_name in ("fwd", "fwd+bwd"):
            row = keyed[(backend, impl, pass_name, "12")]
            assert row["status"] == "ok", row
            assert float(row["max_rel_error"]) < 1e-4  # Every implementation is exact.
    assert keyed[(backend, "dft", "fwd", "16")]["status"].startswith("skipped")
    assert keyed[("numpy", "numpy", "fwd", "16")]["status"] == "ok"
    assert (tmp_path / "mixing.png").stat().st_size > 1000
    assert "| " + backend + " | fft |" in (tmp_path / "mixing.md").read_text()
