"""Flags and clear errors of `python -m training.train`."""

import os

import keras
import pytest

from tests.training.training_helpers import cli_error, tiny_args
from training import strategies, train

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
    from keras_fnet.data.tasks import task_names

    for name in task_names():  # The registry's list, text_classification and digits too.
        assert name in text, name


def test_unknown_model_lists_valid_ones(tmp_path, capsys):
    message = cli_error(tiny_args(tmp_path, "--model", "fnet_huge"), capsys)
    assert "Unknown --model 'fnet_huge'" in message
    assert "fnet_tiny" in message and "bert_base" in message


# A strategy that each backend cannot run.
FOREIGN = {"tensorflow": "data_parallel", "jax": "mirrored", "torch": "tpu"}


def test_strategy_the_backend_cannot_do(tmp_path, capsys):
    message = cli_error(tiny_args(tmp_path, "--strategy", FOREIGN[BACKEND]), capsys)
    assert f"not available with the {BACKEND} backend" in message
    assert "Valid strategies" in message


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_tpu_strategy_rejected_off_tensorflow(backend):
    with pytest.raises(strategies.StrategyError, match="not available with the"):
        strategies.check_strategy_name(backend, "tpu")


def test_tpu_strategy_without_a_tpu(tmp_path, capsys):
    """The TPU path runs up to the TPU system initialization, then says what to do."""
    if BACKEND != "tensorflow":
        pytest.skip("TPUStrategy is a TensorFlow strategy (JAX uses data_parallel on TPUs).")
    message = cli_error(tiny_args(tmp_path, "--strategy", "tpu", "--tpu", "local"), capsys)
    assert "No TPU found (--tpu local)" in message and "--strategy" in message


def test_multi_worker_without_tf_config(tmp_path, monkeypatch, capsys):
    if BACKEND != "tensorflow":
        pytest.skip("multi_worker is a TensorFlow strategy.")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert "TF_CONFIG" in cli_error(tiny_args(tmp_path, "--strategy", "multi_worker"), capsys)


def test_cpu_devices_after_runtime_start(tmp_path, capsys):
    """Splitting the CPU needs a fresh process: the message says so."""
    keras.ops.convert_to_numpy(keras.ops.ones(1))  # Make sure the runtime started.
    if BACKEND == "torch":
        match = "not supported with the torch backend"
    else:
        match = "fresh process"
    assert match in cli_error(tiny_args(tmp_path, "--num-cpu-devices", "3"), capsys)


def test_missing_task_data_says_what_to_download(tmp_path, capsys):
    argv = [a for a in tiny_args(tmp_path / "run", "--task", "lra_text", "--data-dir",
                                 tmp_path / "tfds") if a != "--mock-data"]
    message = cli_error(argv, capsys)
    assert "imdb_reviews" in message and "tfds build" in message
    # A run that failed on its data leaves nothing behind: fixing the flags just works.
    assert sorted(os.listdir(tmp_path / "run")) == []


def test_bad_flag_combinations(tmp_path, capsys):
    message = cli_error(tiny_args(tmp_path, "--steps", "10", "--steps-per-execution", "4"), capsys)
    assert "--steps 10: must be a multiple of --steps-per-execution 4" in message
    assert "--steps: 0: must be an integer >= 1" in cli_error(["--steps", "0"], capsys)
