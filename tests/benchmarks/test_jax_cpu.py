"""`benchmarks.jax_cpu`'s bookkeeping on given rows: per-round ratios, refused
flags, a configuration whose worker fails. No timing is asserted; the timed
runs themselves are exercised by the speed smoke test's worker."""

import os

import pytest

from benchmarks import jax_cpu


def _row(model, mode, times, status="ok"):
    return dict(model=model, mode=mode, status=status, times_ms=" ".join(map(str, times)),
                median_ms=sorted(times)[len(times) // 2], min_ms=min(times), max_ms=max(times))


def test_ratio_is_taken_round_by_round():
    fnet = _row("fnet", "train", [110, 220, 330])
    plain = _row("plain_fnet", "train", [100, 200, 300])
    assert jax_cpu.ratio(fnet, plain) == "1.10 (1.10-1.10)"
    # Rounds that do not pair up (a failed model) give no ratio rather than a wrong one.
    assert jax_cpu.ratio(fnet, _row("plain_fnet", "train", [100])) == "n/a"


def test_default_runs_again_last_and_bad_configs_are_refused(capsys):
    args = jax_cpu.parse_args(["--configs", "default,onednn"])
    assert args.configs == ["default", "onednn", "default"]
    assert jax_cpu.parse_args(["--configs", "onednn"]).configs == ["onednn"]
    with pytest.raises(SystemExit):
        jax_cpu.parse_args(["--configs", "default,turbo"])
    assert "turbo" in capsys.readouterr().err


def test_a_failed_worker_is_recorded_and_rendered(monkeypatch):
    args = jax_cpu.parse_args(["--configs", "default,onednn", "--quick"])
    spec = jax_cpu.worker_spec(args)
    assert spec["models"] == jax_cpu.MODELS and spec["rounds"] == 2
    flags_seen = []

    def fake_worker(module, backend, spec, timeout_s, threads, log):
        flags_seen.append(os.environ.get("XLA_FLAGS"))
        if "onednn" in flags_seen[-1]:
            return [], "exit 1"
        return [_row(m, mode, [10, 11]) for m in jax_cpu.MODELS for mode in spec["modes"]], "ok"

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(jax_cpu.common, "run_worker", fake_worker)
    runs = [(name, jax_cpu.run_config(name, spec, args)) for name in args.configs]
    assert flags_seen == ["", "--xla_cpu_use_onednn=true", ""]
    assert "XLA_FLAGS" not in os.environ  # Restored after each worker.
    text = jax_cpu.render(runs, spec, args, wall_s=1.0)
    assert "| 2. onednn | `--xla_cpu_use_onednn=true` / 2 | train | worker exit 1 |" in text
    assert text.count("1.00 (1.00-1.00)") == 8  # 2 default runs x 2 modes x 2 ratios.
