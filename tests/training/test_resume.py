"""`kill -9` in the middle of a run, then the same command again."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from training import train
from tests.training.training_helpers import read_metrics, run_script, subprocess_env, tail, tiny_args, REPO

BACKEND = keras.backend.backend()


def test_kill_minus_9_then_rerun_resumes(tmp_path):
    argv = tiny_args(tmp_path, "--steps", "8", "--checkpoint-every", "2", "--eval-steps", "1")
    # The run kills itself with SIGKILL right after step 5 (a checkpoint was
    # written at step 4): no Python cleanup, exactly like `kill -9`.
    crashed = run_script(argv + ["--crash-at-step", "5"])
    assert crashed.returncode == -signal.SIGKILL, tail(crashed)
    assert not os.path.exists(tmp_path / "metrics.json")
    with open(tmp_path / "checkpoint.json") as f:
        assert json.load(f)["step"] == 4

    # The same command again (in this process: one framework import fewer).
    results = train.main(argv)
    assert results["resumed_from_step"] == 4
    assert results["steps"] == 8
    assert read_metrics(tmp_path)["steps"] == 8

    # Once finished, rerunning trains nothing more and keeps the step count.
    again = train.main(argv)
    assert again["resumed_from_step"] == 8 and again["steps"] == 8


def test_external_kill_while_training(tmp_path):
    """SIGKILL from outside at an arbitrary moment (perhaps mid-checkpoint)."""
    if BACKEND != "tensorflow":
        pytest.skip("The checkpoint writer does not depend on the backend; this slower "
                    "variant of the kill -9 test runs once, under TensorFlow.")
    argv = tiny_args(tmp_path, "--checkpoint-every", "3", "--eval-steps", "1")
    process = subprocess.Popen(
        [sys.executable, "-m", "training.train", *argv, "--steps", "100000"], cwd=REPO,
        env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info = tmp_path / "checkpoint.json"
    deadline = time.time() + 180
    try:
        while time.time() < deadline and process.poll() is None and not info.exists():
            time.sleep(0.1)
        time.sleep(0.5)  # Train on, into later checkpoints; kill at a random point.
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert info.exists(), "no checkpoint was written"
    with open(info) as f:
        saved = json.load(f)["step"]
    assert saved > 0 and saved % 3 == 0
    # Resume and train 3 more steps (a shorter --steps, to keep the test fast).
    results = train.main(argv + ["--steps", str(saved + 3)])
    assert results["resumed_from_step"] >= saved
    assert results["steps"] == saved + 3 or results["resumed_from_step"] > saved
