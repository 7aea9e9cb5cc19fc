"""Smoke test of `python -m benchmarks.serving` at toy sizes (timings are never asserted)."""

import os

import keras
import pytest

from benchmarks import common, serving
from keras_fnet.export import OFFERED


def test_serving_quick_writes_every_runtime_with_spread_and_errors(tmp_path):
    backend = keras.backend.backend()
    serving.main(["--quick", "--backends", backend, "--models", "fnet", "--threads", "1",
                  "--out", str(tmp_path)])
    rows = common.read_csv(tmp_path / "serving.csv")
    runtimes = ["keras"] + [name for fmt, name in serving.RUNTIMES.items()
                            if (backend, fmt) in OFFERED]
    assert {(r["runtime"], r["length"], r["batch"]) for r in rows} == {
        (name, "16", batch) for name in runtimes for batch in ("1", "2")}
    for r in rows:
        assert r["status"] == "ok" and r["backend"] == backend and r["hidden_dim"] == "16"
        times = [float(v) for v in r["times_ms"].split()]
        assert len(times) == int(r["rounds"]) == 2
        assert float(r["min_ms"]) == pytest.approx(min(times), abs=0.01)
        assert float(r["max_ms"]) == pytest.approx(max(times), abs=0.01)
        expected = int(r["batch"]) / float(r["median_ms"]) * 1e3
        assert float(r["sequences_per_s"]) == pytest.approx(expected, rel=0.01)
        if r["runtime"] != "keras":
            assert float(r["max_abs_error"]) < 1e-4  # The artifact computes the same model.
    text = (tmp_path / "serving.md").read_text()
    assert "## Length 16" in text and "shared 2-core" in text
    assert all(f"| fnet | {backend} | {name} |" in text for name in runtimes)
    assert (tmp_path / "serving.png").stat().st_size > 1000
    os.remove(tmp_path / "serving.md")
    serving.main(["--report-only", "--out", str(tmp_path)])
    assert (tmp_path / "serving.md").read_text() == text
