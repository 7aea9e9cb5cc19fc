"""Distribution strategies on CPU: split devices and local worker processes.

Each test needs a fresh process (devices are fixed when a framework starts),
so each runs one Python subprocess that trains the same tiny model twice on
the same global batches: on one device, then distributed. The global batch is
the whole (mock) training set of 64 examples, so every step sees the same
examples whatever order the input pipeline shuffles them in.
"""

import json
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.training.training_helpers import (
    REPO,
    read_metrics,
    run_python,
    subprocess_env,
    tail,
    tiny_args,
)

BACKEND = keras.backend.backend()

# Trains twice in one process with 2 CPU devices; prints both runs' results
# and final weights.
_COMPARE = """
import json, sys
import numpy as np
from training import train
from tests.training.training_helpers import tiny_args
out = {{}}
for strategy in ("default", {strategy!r}):
    argv = tiny_args({tmp!r} + "/" + strategy, "--steps", "3", "--dropout", "0",
                     "--batch-size", "64", "--num-cpu-devices", "2", "--strategy", strategy,
                     "--eval-steps", "2", "--model", "bert_tiny")
    results = train.main(argv)
    import keras
    model = keras.saving.load_model({tmp!r} + "/" + strategy + "/model.keras")
    np.savez({tmp!r} + "/" + strategy + ".npz", *model.get_weights())
    out[strategy] = results
print("RESULTS" + json.dumps(out))
"""


def _compare(tmp_path, strategy):
    code = _COMPARE.format(strategy=strategy, tmp=str(tmp_path))
    result = run_python(code)
    assert result.returncode == 0, tail(result)
    line = [row for row in result.stdout.splitlines() if row.startswith("RESULTS")][-1]
    runs = json.loads(line[len("RESULTS"):])
    single, distributed = runs["default"], runs[strategy]
    assert single["num_replicas"] == 1 and distributed["num_replicas"] == 2
    assert distributed["strategy"] == strategy and distributed["steps"] == 3
    np.testing.assert_allclose(distributed["history"]["loss"], single["history"]["loss"],
                               rtol=1e-4)
    np.testing.assert_allclose(distributed["metrics"]["accuracy"], single["metrics"]["accuracy"])
    w1 = np.load(tmp_path / "default.npz")
    w2 = np.load(tmp_path / f"{strategy}.npz")
    for key in w1.files:  # The same three optimizer steps were applied.
        np.testing.assert_allclose(w2[key], w1[key], atol=2e-5, err_msg=key)


def test_mirrored_on_two_cpu_devices_matches_one_device(tmp_path):
    if BACKEND != "tensorflow":
        pytest.skip(f"MirroredStrategy is a TensorFlow strategy (backend: {BACKEND}).")
    _compare(tmp_path, "mirrored")


def test_data_parallel_on_two_host_devices_matches_one_device(tmp_path):
    if BACKEND != "jax":
        pytest.skip(f"keras.distribution.DataParallel runs on JAX (backend: {BACKEND}).")
    _compare(tmp_path, "data_parallel")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_multi_worker_processes_finish_together(tmp_path):
    if BACKEND != "tensorflow":
        pytest.skip(f"MultiWorkerMirroredStrategy is a TensorFlow strategy (backend: {BACKEND}).")
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    argv = tiny_args(tmp_path, "--steps", "4", "--checkpoint-every", "2", "--eval-steps", "2",
                     "--strategy", "multi_worker")
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "training.train", *argv], cwd=REPO,
            env=subprocess_env(TF_CONFIG=json.dumps(tf_config)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=240))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, f"stdout:\n{out[-2000:]}\nstderr:\n{err[-3000:]}"
    assert "worker done: 4 steps" in outputs[1][0]
    metrics = read_metrics(tmp_path)
    assert metrics["strategy"] == "multi_worker" and metrics["num_replicas"] == 2
    assert metrics["steps"] == 4
