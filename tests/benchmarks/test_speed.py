"""Smoke tests of `python -m benchmarks.speed` at toy sizes, and of its report's arithmetic.

Only files, columns, statuses and ratios computed from given rows are checked;
timings are never asserted.
"""

import csv
import os

import keras
import numpy as np
import pytest

from benchmarks import common, speed, speed_plain, speed_report
from tests.conftest import runs_once


def _rows(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_speed_quick_writes_spread_load_targets_and_plots(tmp_path):
    backend = keras.backend.backend()
    models = ("fnet", "bert", "plain_fnet")
    # The runner in this process (its workers are processes of their own).
    speed.main(["--quick", "--suite", "small", "--backends", backend,
                "--models", ",".join(models), "--threads", "1", "--out", str(tmp_path)])
    columns, rows = _rows(tmp_path / "speed.csv")
    assert columns == speed.COLUMNS
    got = {(r["backend"], r["model"], r["mode"], r["length"]) for r in rows}
    assert got == {(backend, m, mode, "16") for m in models for mode in ("train", "infer")}
    for r in rows:
        assert r["status"] == "ok", r
        times = [float(v) for v in r["times_ms"].split()]
        assert len(times) == int(r["rounds"]) == 2
        assert float(r["min_ms"]) == pytest.approx(min(times), abs=0.01)
        assert float(r["max_ms"]) == pytest.approx(max(times), abs=0.01)
        assert float(r["others_cpu"]) >= 0 and float(r["load_avg"]) >= 0
        assert r["batch"] == "2" and r["hidden_dim"] == "16" and r["threads"] in ("1", "")
    assert {r["fourier"] for r in rows if r["model"] == "fnet"} <= {"fft", "dft"}
    text = (tmp_path / "speed.md").read_text()
    assert "## Suite `small`" in text and "| plain_fnet |" in text
    assert "fnet / plain_fnet" in text and "bert / bert" in text  # The only BERT is the fastest.
    assert (tmp_path / "speed_ratios.png").stat().st_size > 1000
    # The report redraws from the CSV alone (what `--report-only` runs).
    os.remove(tmp_path / "speed.md")
    speed.main(["--report-only", "--out", str(tmp_path)])
    assert (tmp_path / "speed.md").read_text() == text


@runs_once
def test_speed_records_models_over_the_limits(tmp_path):
    backend = keras.backend.backend()
    speed.main(["--quick", "--suite", "lengths", "--backends", backend,
                "--models", "fnet,bert", "--modes", "infer", "--max-memory-gb", "0",
                "--time-limit", "1e-9", "--out", str(tmp_path)])
    _, rows = _rows(tmp_path / "speed.csv")
    status = {(r["model"], r["length"]): r["status"] for r in rows}
    assert status[("bert", "16")].startswith("oom (estimated")
    assert status[("fnet", "16")].startswith("timeout (step")
    assert status[("fnet", "32")] == "timeout (at L=16)"  # Not run again at a longer length.
    lengths_report = (tmp_path / "speed_lengths.md").read_text()
    assert (tmp_path / "speed_lengths.png").exists() or "timeout" in lengths_report


def test_worker_builds_every_family_of_the_registry_and_refuses_others(tmp_path, capsys):
    import keras_fnet
    from benchmarks import speed_worker

    names = speed_worker.model_names()
    assert set(keras_fnet.FAMILIES) <= set(names)
    with pytest.raises(ValueError, match=r"unknown models \['fnte'\]; choose from fnet, "):
        speed_worker.check_models(["fnet", "fnte"])
    with pytest.raises(ValueError, match="'hf_bert' is not a model of the zoo"):
        speed_worker.KerasModel("hf_bert", {"vocabulary_size": 10, "dtype": "float32"}, 4, 1)
    # Attention layers keep length x length scores: BERT in every block, the hybrid in its
    # top two, the others (Fourier, Performer's linear attention, ...) in none.
    spec = dict(num_layers=4, hidden_dim=16, intermediate_dim=16, num_heads=2,
                vocabulary_size=10)
    expected = {"bert": 4, "fnet_hybrid": 2, "fnet": 0, "performer": 0, "bert_fused": 4,
                "hf_bert": 4, "keras_hub_fnet": 0}
    assert {name: speed_worker.quadratic_layers(name, spec) for name in expected} == expected
    with pytest.raises(SystemExit, match="refused --models fnet,fnte"):
        speed.main(["--quick", "--suite", "small", "--backends", keras.backend.backend(),
                    "--models", "fnet,fnte", "--out", str(tmp_path)])
    assert "unknown models ['fnte']" in capsys.readouterr().out


def test_suite_flags_override_presets():
    args = speed.parse_args(["--suite", "lengths", "--lengths", "64,128", "--batch", "3",
                             "--hidden-dim", "32", "--models", "fnet"])
    (spec,) = speed.suite_specs(args)
    assert spec["lengths"] == [64, 128] and spec["hidden_dim"] == 32
    assert spec["models"] == ["fnet"] and speed.batch_for(spec, 128) == 3
    (spec,) = speed.suite_specs(speed.parse_args(["--suite", "lengths"]))
    assert speed.batch_for(spec, 512) == 16 and speed.batch_for(spec, 8192) == 1
    assert [s["suite"] for s in speed.suite_specs(speed.parse_args([]))] == list(speed.SUITES)


def _row(model, times, suite="small", mode="train", status="ok"):
    return dict(suite=suite, backend="torch", model=model, mode=mode, length="512", status=status,
                times_ms=" ".join(str(t) for t in times), median_ms=str(np.median(times)))


def test_targets_are_per_round_ratios_against_the_fastest_bert():
    rows = [_row("fnet", [110, 120, 300]), _row("plain_fnet", [100, 100, 250]),
            _row("ff_only", [100, 110, 280]), _row("bert", [220, 200, 500]),
            _row("hf_bert", [200, 210, 400]), _row("keras_hub_bert", [0, 0, 0], status="oom")]
    checks = {c["target"]: c for c in speed_report.targets(rows)}
    plain = checks["keras_fnet / plain framework FNet"]
    assert plain["value"] == pytest.approx(1.2) and plain["low"] == pytest.approx(1.1)
    assert plain["high"] == pytest.approx(1.2) and plain["met"] is False
    bert = checks["bert / fastest BERT"]
    assert bert["models"] == "bert / hf_bert"  # median 210 < 220; the oom row is ignored.
    assert bert["value"] == pytest.approx(1.1) and bert["met"] is False
    assert checks["fastest BERT / fnet (speed-up)"]["met"] is None


def test_plain_reference_has_the_zoo_models_shape():
    import keras_fnet

    spec = dict(num_layers=2, hidden_dim=16, intermediate_dim=24, vocabulary_size=50)
    weights = speed_plain.initial_weights(spec, 32)
    count = sum(v.size for k, v in weights.items() if k != "blocks")
    count += sum(v.size for block in weights["blocks"] for v in block.values())
    model = keras_fnet.build_classifier("fnet_tiny", compile=False, max_sequence_length=32,
                                        num_heads=2, **spec)
    assert count == model.count_params()


def test_load_meter_counts_other_processes_not_this_one():
    meter = common.LoadMeter().start()
    sum(i * i for i in range(2_000_000))  # Busy in this process only.
    load = meter.stop()
    assert 0 <= load["others_cpu"] <= (os.cpu_count() or 1) and 0 <= load["steal_pct"] <= 100


def test_reproduction_compares_medians_with_the_reference_spread():
    def row(model, times):
        r = _row(model, times)
        r.update(min_ms=str(min(times)), max_ms=str(max(times)))
        return r

    reference = [row("fnet", [100, 110, 120]), row("plain_fnet", [100, 100, 100]),
                 row("ff_only", [90, 100, 110])]
    rerun = [row("fnet", [115, 118, 119]), row("plain_fnet", [100, 100, 100]),
             row("ff_only", [130, 140, 150])]
    cells, ratios = speed_report.reproduction(reference, rerun)
    within = {c["model"]: c["within"] for c in cells}
    assert within == {"fnet": True, "plain_fnet": True, "ff_only": False}  # 140 > 110.
    checks = {r["target"]: r for r in ratios}
    # fnet / plain_fnet: reference per-round ratios 1.0-1.2, rerun 1.18: within.
    assert checks["keras_fnet / plain framework FNet"]["within"] is True
    # fnet / ff_only: reference 1.1 (1.09-1.11), rerun 118 / 140 = 0.84: outside.
    share = checks["fnet / ff_only (FFT share)"]
    assert share["value"] == pytest.approx(118 / 140) and share["within"] is False
    text = speed_report.render_reproduction("ref", reference, rerun)
    assert "- Cells: 2 of 3 rerun medians within" in text


def test_profile_sorts_torch_ops_into_kinds(tmp_path):
    from benchmarks import speed_profile

    assert speed_profile.kind_of("aten::_fft_c2c") == "fft"
    assert speed_profile.kind_of("aten::addmm") == "matmul"
    assert speed_profile.kind_of("aten::native_layer_norm") == "layer norm"
    assert speed_profile.kind_of("aten::_foreach_add_") == "optimizer"
    assert speed_profile.kind_of("aten::something_new") == "other"
    if BACKEND_IS_TORCH:
        speed_profile.main(["--quick", "--steps", "1", "--out", str(tmp_path)])
        text = (tmp_path / "speed_profile_torch_small.md").read_text()
        assert "## train" in text and "## infer" in text and "| fft |" in text


BACKEND_IS_TORCH = keras.backend.backend() == "torch"


def test_fourier_formulations_all_compute_the_real_part_of_fft2(gradient):
    from benchmarks import fourier_ab

    x = np.random.default_rng(0).normal(size=(2, 6, 5)).astype("float32")
    expected = np.fft.fft2(x).real
    for name in fourier_ab.FORMULATIONS:
        fn = fourier_ab.formulation(name)
        y = np.asarray(keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(x))))
        np.testing.assert_allclose(y, expected, atol=1e-4, err_msg=name)
        # d sum(Re FFT2(x)) / dx = Re FFT2(ones), custom gradient or the framework's.
        np.testing.assert_allclose(gradient(fn, x), np.fft.fft2(np.ones_like(x)).real, atol=1e-3,
                                   err_msg=name)


@runs_once
def test_fourier_ab_quick_writes_its_table(tmp_path):
    from benchmarks import fourier_ab

    fourier_ab.main(["--quick", "--rounds", "2", "--out", str(tmp_path)])
    text = (tmp_path / f"fourier_ab_{keras.backend.backend()}_small.md").read_text()
    assert text.count("| rfft+custom |") == 2 and "| fft2+autodiff |" in text


@pytest.mark.parametrize("flags", [["--modes", "trian"], ["--rounds", "0"]])
def test_fourier_ab_refuses_bad_flags(flags, capsys):
    from benchmarks import fourier_ab

    with pytest.raises(SystemExit):
        fourier_ab.main(flags)
    assert flags[0] in capsys.readouterr().err
