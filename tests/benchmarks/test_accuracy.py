"""The accuracy study's bookkeeping: rows, summary table, plots, loss curves.

The study itself trains through `training.train` (tested in tests/training);
here its reporting is checked on synthetic runs, without training.
"""

import csv
import os

import numpy as np
import pytest

from benchmarks import accuracy


@pytest.fixture
def args(tmp_path):
    return accuracy.parse_args(["--families", "fnet", "ff_only", "--seeds", "0", "1",
                                "--results-dir", str(tmp_path)])


def _rows(args):
    accs = {"fnet": [0.40, 0.36], "ff_only": [0.20, 0.22]}
    rows = [{"task": "listops", "model": m, "seed": s, "accuracy": a, "train_seconds": 10.0 + s,
             "steps": 500, "backend": "jax"} for m, v in accs.items() for s, a in enumerate(v)]
    rows += [{"task": "listops", "model": "majority", "seed": s, "accuracy": 0.16,
              "train_seconds": "", "steps": 0, "backend": ""} for s in (0, 1)]
    return rows


def test_summary_ranks_models_and_compares_to_fnet(args):
    text = accuracy.summarize(args, _rows(args), [])
    table = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [line.split("|")[1].strip() for line in table] == ["fnet", "ff_only", "majority"]
    assert "| fnet | 0.3800 | 0.3600 | 0.4000 | 1.00x | 10 |" in text
    assert "| ff_only | 0.2100 |" in text and "0.55x" in text


def test_csv_has_the_issue_columns(args, tmp_path):
    path = tmp_path / "a.csv"
    accuracy.write_csv(path, _rows(args))
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["task", "model", "seed", "accuracy", "train_seconds", "steps",
                             "backend"]
    assert sum(r["model"] == "majority" for r in rows) == 2


def test_plots_and_loss_curves(args, tmp_path):
    pytest.importorskip("tensorflow")
    from training.callbacks import ScalarLogger

    run = tmp_path / "run"
    logger = ScalarLogger(str(run / "logs"), every=10)  # what training.train writes
    logger.on_epoch_begin(0)
    for step, running_mean in [(10, 2.0), (20, 1.5), (30, 1.2)]:  # Keras' logs
        logger.on_step_end(step, {"loss": running_mean})
    logger.on_train_end()
    steps, losses = accuracy.loss_curve(str(run))
    np.testing.assert_array_equal(steps, [10, 20, 30])
    # Each point is the mean of its own 10 steps: (20 * 1.5 - 10 * 2.0) / 10, ...
    np.testing.assert_allclose(losses, [2.0, 1.0, 0.6], rtol=1e-6)
    png, backends_png = tmp_path / "a.png", tmp_path / "b.png"
    accuracy.plot(args, _rows(args), [("jax", 0, str(run))], png, backends_png)
    assert os.path.getsize(png) > 10_000 and os.path.getsize(backends_png) > 10_000


def test_unknown_family_is_refused():
    with pytest.raises(SystemExit):
        accuracy.parse_args(["--families", "fnet", "transformer_xl"])


def test_each_run_is_a_valid_training_spec(args):
    spec = accuracy.run_spec(args, "jax", "ff_only", 1).validated()
    assert spec.model == "ff_only_tiny" and spec.seed == 1 and spec.steps == args.steps
    assert spec.output_dir.endswith(os.path.join("listops", "jax", "ff_only_s1"))
    # Every family of one seed differs only in the model.
    other = accuracy.run_spec(args, "jax", "fnet", 1)
    assert {k for k, v in spec.identity().items() if other.identity()[k] != v} == {"model"}
