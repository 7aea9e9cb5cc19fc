"""Flags and clear errors of `python -m training.train`."""

import os

import keras
import pytest

from training import strategies, train
from tests.training.training_helpers import tiny_args

BACKEND = keras.backend.backend()


def test_help_lists_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--task", "--model", "--steps", "--batch-size", "--max-length", "--output-dir",
                 "--strategy", "--num-cpu-devices", "--checkpoint-every", "--init-from",
                 "--mock-data", "--mixed-precision", "--learning-rate", "--seed", "--tpu",
                 "--clipnorm", "--steps-per-execution", "--num-layers", "--eval-every"):
        assert flag in text, flag


def test_unknown_model_lists_valid_ones(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        train.main(tiny_args(tmp_path, "--model", "fnet_huge"))
    message = str(exit_info.value.code)
    assert "Unknown --model 'fnet_huge'" in message
    assert "fnet_tiny" in message and "bert_base" in message


# A strategy that each backend cannot run.
FOREIGN = {"tensorflow": "data_parallel", "jax": "mirrored", "torch": "tpu"}


def test_strategy_the_backend_cannot_do(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        train.main(tiny_args(tmp_path, "--strategy", FOREIGN[BACKEND]))
    message = str(exit_info.value.code)
    assert f"not available with the {BACKEND} backend" in message
    assert "Valid strategies" in message


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_tpu_strategy_rejected_off_tensorflow(backend):
    with pytest.raises(strategies.StrategyError, match="not available with the"):
        strategies.check_strategy_name(backend, "tpu")


def test_tpu_strategy_without_a_tpu(tmp_path):
    """The TPU path runs up to the TPU system initialization, then says what to do."""
    if BACKEND != "tensorflow":
        pytest.skip("TPUStrategy is a TensorFlow strategy (JAX uses data_parallel on TPUs).")
    with pytest.raises(SystemExit) as exit_info:
        train.main(tiny_args(tmp_path, "--strategy", "tpu", "--tpu", "local"))
    message = str(exit_info.value.code)
    assert "No TPU found (--tpu local)" in message and "--strategy" in message


def test_multi_worker_without_tf_config(tmp_path, monkeypatch):
    if BACKEND != "tensorflow":
        pytest.skip("multi_worker is a TensorFlow strategy.")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        train.main(tiny_args(tmp_path, "--strategy", "multi_worker"))
    assert "TF_CONFIG" in str(exit_info.value.code)


def test_cpu_devices_after_runtime_start(tmp_path):
    """Splitting the CPU needs a fresh process: the message says so."""
    keras.ops.convert_to_numpy(keras.ops.ones(1))  # Make sure the runtime started.
    if BACKEND == "torch":
        match = "not supported with the torch backend"
    else:
        match = "fresh process"
    with pytest.raises(SystemExit) as exit_info:
        train.main(tiny_args(tmp_path, "--num-cpu-devices", "3"))
    assert match in str(exit_info.value.code)


def test_missing_task_data_says_what_to_download(tmp_path):
    argv = [a for a in tiny_args(tmp_path / "run", "--task", "lra_text", "--data-dir",
                                 tmp_path / "tfds") if a != "--mock-data"]
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    message = str(exit_info.value.code)
    assert "imdb_reviews" in message and "tfds build" in message
    assert not os.path.exists(tmp_path / "run" / "metrics.json")


def test_bad_flag_combinations():
    with pytest.raises(SystemExit):
        train.parse_args(["--steps", "10", "--steps-per-execution", "4"])
    with pytest.raises(SystemExit):
        train.parse_args(["--steps", "0"])
