"""Fault injection: `kill -9` (at a step, mid-save, at a random moment), two processes on one
directory, a rerun with other settings, damaged checkpoint and cache files, bad flag values.

Each case ends in a clear one-line message or a correct resume: nothing lost, nothing mixed.
Faults are injected through the API (a callback, or a patched writer in a child process),
never through the public command line.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.conftest import runs_once
from tests.training.training_helpers import (
    REPO,
    cli_error,
    read_metrics,
    subprocess_env,
    tail,
    tiny_args,
    tiny_spec,
)
from training import run as run_lib
from training import train

# A child process that trains `spec` and dies by SIGKILL: after optimizer step `step`,
# or half-way through writing its `nth` file called `name` (before the rename).
_CHILD = """
import os, signal, time
from training import callbacks, run, run_dir
from training.spec import RunSpec

spec = RunSpec.from_json({spec!r})
step, name, nth, pause = {step!r}, {name!r}, {nth!r}, {pause!r}


class KillAtStep(callbacks.StepCounter):
    def on_step_end(self, current, logs):
        if current == step:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(pause)  # Slow steps: the test has time to act while this one trains.


seen = []
write_whole = run_dir.RunDir.write_whole


def dying_write_whole(self, target, write):
    if target == name:
        seen.append(target)
        if len(seen) == nth:
            tmp = self.tmp_path(target)
            write(tmp)
            with open(tmp, "r+b") as f:
                f.truncate(os.path.getsize(tmp) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
    return write_whole(self, target, write)


run_dir.RunDir.write_whole = dying_write_whole
run.train(spec, callbacks=[KillAtStep()])
"""


def _child(spec, step=None, name=None, nth=1, pause=0.0):
    return [sys.executable, "-c", _CHILD.format(
        spec=spec.to_json(), step=step, name=name, nth=nth,
        pause=pause)]


def _kill_child(spec, step=None, name=None, nth=1):
    result = subprocess.run(_child(spec, step, name, nth), cwd=REPO, env=subprocess_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == -signal.SIGKILL, tail(result)
    return result


def _temporaries(path):
    return [n for n in os.listdir(path) if n.startswith(".tmp-")]


def _weights(path):
    return keras.saving.load_model(path).get_weights()


def test_kill_at_a_step_then_resume_matches_an_uninterrupted_run(tmp_path):
    spec = tiny_spec(tmp_path / "killed", steps=6, checkpoint_every=2, eval_steps=1,
                     dropout=0.0)
    whole = run_lib.train(spec.replace(output_dir=str(tmp_path / "whole")))
    _kill_child(spec, step=3)  # A checkpoint was written at step 2.
    assert not os.path.exists(tmp_path / "killed" / "metrics.json")
    with open(tmp_path / "killed" / "checkpoint.json") as f:
        assert json.load(f)["step"] == 2
    resumed = run_lib.train(spec)
    assert resumed["resumed_from_step"] == 2 and resumed["steps"] == 6
    # The history covers every step, the killed process's included, and equals the
    # uninterrupted run's; so do the final weights.
    assert resumed["history"]["step"] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(resumed["history"]["loss"], whole["history"]["loss"], rtol=1e-4)
    for a, b in zip(_weights(tmp_path / "killed" / "model.keras"),
                    _weights(tmp_path / "whole" / "model.keras")):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert read_metrics(tmp_path / "killed")["history"] == resumed["history"]


@runs_once
def test_kill_during_the_final_save(tmp_path):
    spec = tiny_spec(tmp_path, steps=2, eval_steps=1)
    _kill_child(spec, name="model.keras")
    leftovers = _temporaries(tmp_path)
    assert leftovers and not os.path.exists(tmp_path / "model.keras")
    results = run_lib.train(spec)  # Removes the half-written file, exports again.
    assert results["resumed_from_step"] == 2 and results["steps"] == 2
    assert _temporaries(tmp_path) == []
    assert results["history"]["step"] == [1, 2]
    # The file loads in a fresh process with the library alone (no training code).
    model_path = str(tmp_path / "model.keras")
    code = (f"import keras, keras_fnet; m = keras.saving.load_model({model_path!r}); "
            "print(type(m).__name__, hasattr(m, 'optimizer') and m.optimizer)")
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                            env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.split() == ["Classifier", "False"], \
        tail(result)
    out = tmp_path / "hf"
    result = subprocess.run([sys.executable, "-m", "keras_fnet.convert", "export-transformers",
                             str(tmp_path / "model.keras"), str(out)], cwd=REPO,
                            env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and (out / "config.json").exists(), tail(result)


@runs_once
def test_kill_during_a_checkpoint_and_the_metrics(tmp_path):
    spec = tiny_spec(tmp_path, steps=4, checkpoint_every=2, eval_steps=1)
    _kill_child(spec, name="checkpoint.weights.h5", nth=2)  # Mid-way through step 4's.
    with open(tmp_path / "checkpoint.json") as f:
        assert json.load(f)["step"] == 2
    _kill_child(spec, name="metrics.json")
    assert not os.path.exists(tmp_path / "metrics.json")
    results = run_lib.train(spec)
    assert results["resumed_from_step"] == 4 and results["history"]["step"] == [1, 2, 3, 4]
    assert _temporaries(tmp_path) == [] and read_metrics(tmp_path)["steps"] == 4


@runs_once
def test_two_runs_on_one_directory_then_kill_at_a_random_moment(tmp_path, capsys):
    spec = tiny_spec(tmp_path, steps=60, checkpoint_every=3, eval_steps=1)
    log = open(tmp_path.parent / f"{tmp_path.name}.log", "w")
    first = subprocess.Popen(_child(spec, pause=1.0), cwd=REPO, env=subprocess_env(),
                             stdout=log, stderr=log)
    info = tmp_path / "checkpoint.json"
    try:
        deadline = time.time() + 600
        while time.time() < deadline and first.poll() is None and not info.exists():
            time.sleep(0.1)
        assert info.exists(), open(log.name).read()[-3000:]
        # The second process on the same directory stops at once, naming the owner.
        with pytest.raises(run_lib.UserError, match=f"in use by process {first.pid}"):
            run_lib.train(spec)
        time.sleep(random.Random(os.getpid()).uniform(0.0, 1.0))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        log.close()
    with open(info) as f:
        saved = json.load(f)["step"]
    assert saved > 0 and saved % 3 == 0
    # The dead owner's lock is taken over; the run resumes and ends at the same step.
    results = run_lib.train(spec)
    assert "stale lock" in capsys.readouterr().out
    assert results["resumed_from_step"] >= saved and results["steps"] == 60
    assert results["history"]["step"] == list(range(1, 61))
    assert not os.path.exists(tmp_path / ".lock") and _temporaries(tmp_path) == []


@runs_once
def test_rerun_with_other_settings_stops_unless_overwrite(tmp_path, capsys):
    argv = tiny_args(tmp_path, "--steps", "2", "--eval-steps", "1")
    train.main(argv)
    before = (tmp_path / "metrics.json").read_bytes()
    for extra, named in [(["--model", "hartley_tiny"], "--model hartley_tiny (the run has "
                          "fnet_tiny)"), (["--seed", "1"], "--seed 1 (the run has 0)"),
                         (["--learning-rate", "0.01"], "--learning-rate 0.01 (the run has None)"),
                         (["--steps", "1"], "--steps 1 (the run has 2)"),
                         (["--mixed-precision", "mixed_bfloat16"], "--mixed-precision")]:
        message = cli_error(argv + extra, capsys)
        assert named in message and "--overwrite" in message, message
    assert (tmp_path / "metrics.json").read_bytes() == before
    # Read back without training: only for exactly this finished run.
    spec = train.spec_from_args(train.parse_args(argv))
    assert run_lib.finished_results(spec)["steps"] == 2
    assert run_lib.finished_results(spec.replace(seed=1)) is None
    assert run_lib.finished_results(spec.replace(steps=3)) is None
    # The same command again: finished, says so, changes nothing.
    again = train.main(argv)
    assert "already finished" in capsys.readouterr().out
    assert (tmp_path / "metrics.json").read_bytes() == before and again["steps"] == 2
    # --overwrite starts afresh with the new settings.
    fresh = train.main(argv + ["--seed", "1", "--overwrite"])
    assert fresh["resumed_from_step"] == 0 and read_metrics(tmp_path)["spec"]["seed"] == 1


def test_damaged_checkpoint_is_refused(tmp_path, capsys):
    argv = tiny_args(tmp_path, "--steps", "2", "--eval-steps", "1")
    train.main(argv)
    os.remove(tmp_path / "metrics.json")  # As if killed before the end.
    path = tmp_path / "checkpoint.weights.h5"
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 3)
    message = cli_error(argv, capsys)
    assert "checkpoint.weights.h5" in message and "--overwrite" in message
    assert train.main(argv + ["--overwrite"])["resumed_from_step"] == 0


@runs_once
def test_damaged_cache_file_is_generated_again(tmp_path, capsys):
    data = tmp_path / "data"
    argv = [a for a in tiny_args(tmp_path / "a", "--steps", "1", "--eval-every", "0",
                                 "--data-dir", data, "--num-train-examples", "16")
            if a != "--mock-data"]
    first = train.main(argv)
    assert first["num_eval_examples"] == 2000
    (test_file,) = data.glob("listops/*/test_2000.tsv")
    with open(test_file, "r+b") as f:
        f.truncate(os.path.getsize(test_file) // 20)
    capsys.readouterr()
    second = train.main(argv[:-2] + ["--output-dir", tmp_path / "b"])
    assert "generating it again" in capsys.readouterr().out
    assert second["num_eval_examples"] == 2000  # All of it, not what survived the truncation.


# The bad values of issue 12: each is one line naming the flag and value, exit 2, before any
# data is generated or any file written.
BAD = [
    (["--learning-rate", "-1"], "--learning-rate: -1"),
    (["--clipnorm", "-1"], "--clipnorm: -1"),
    (["--clipnorm", "0"], "--clipnorm: 0"),
    (["--max-length", "0"], "--max-length: 0"),
    (["--max-length", "8"], "--max-length 8: task listops needs at least 16"),
    (["--num-train-examples", "0"], "--num-train-examples: 0"),
    (["--num-train-examples", "-5"], "--num-train-examples: -5"),
    (["--batch-size", "0"], "--batch-size: 0"),
    (["--warmup-steps", "-5"], "--warmup-steps: -5"),
    (["--warmup-steps", "50"], "--warmup-steps 50: must be <= --steps 10"),
    (["--dropout", "1.5"], "--dropout: 1.5"),
    (["--steps", "-1"], "--steps: -1"),
    (["--learning-rate", "nan"], "--learning-rate: nan"),
    (["--batch-size", "2.5"], "--batch-size: 2.5"),
    (["--task", "glue/nope"], "--task glue/nope: Unknown task"),
    (["--task", "lra_text", "--num-train-examples", "5"], "--num-train-examples 5"),
]


@pytest.mark.parametrize("extra,named", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_values_stop_before_any_work(tmp_path, capsys, extra, named):
    argv = [a for a in tiny_args(tmp_path / "run", "--steps", "10", "--data-dir",
                                 tmp_path / "data") if a != "--mock-data"]
    message = cli_error(argv + extra, capsys)
    assert named in message, message
    assert not os.path.exists(tmp_path / "data")
    assert not os.path.exists(tmp_path / "run") or os.listdir(tmp_path / "run") == []


def test_output_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    message = cli_error(tiny_args(tmp_path / "file"), capsys)
    assert f"--output-dir {tmp_path / 'file'}: is a file" in message


def test_read_only_output_dir(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    os.chmod(tmp_path, 0o500)
    try:
        assert "not writable" in cli_error(tiny_args(tmp_path), capsys)
    finally:
        os.chmod(tmp_path, 0o700)


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(run_lib.UserError, match="Unknown --model"):
        train.main(tiny_args(tmp_path, "--model", "nope_tiny", "--debug"))


def test_batch_larger_than_the_validation_set_still_validates(tmp_path):
    # The mock validation split has 64 examples.
    results = train.main(tiny_args(tmp_path, "--steps", "2", "--eval-every", "2",
                                   "--batch-size", "100", "--eval-steps", "1"))
    assert len(results["history"]["val_loss"]) == 1


@runs_once
def test_subprocess_api_reports_the_one_line_error(tmp_path):
    spec = tiny_spec(tmp_path, model="nope_tiny")
    with pytest.raises(run_lib.UserError, match="Unknown --model 'nope_tiny'"):
        run_lib.train_in_subprocess(spec)
