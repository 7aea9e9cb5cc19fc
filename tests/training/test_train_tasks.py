"""Every model family and every kind of task trains a few steps in-process."""

import os

import keras
import numpy as np
import pytest

import keras_fnet
from tests.training.training_helpers import cli_error, read_metrics, tiny_args
from training import train

BACKEND = keras.backend.backend()


# Every family trains with `fit` (tests/test_models.py) and saves (tests/test_saving.py); through
# the script: the default, attention (masks), the hybrid (attention in the top layers), and the
# two with fixed random weights (random matrices, Performer's features) that the checkpoint and
# model.keras must carry.
SCRIPT_FAMILIES = ["fnet", "bert", "fnet_hybrid", "random", "performer"]


@pytest.mark.parametrize("family", SCRIPT_FAMILIES)
def test_families_train_listops_through_the_script(tmp_path, family):
    # Two layers: the hybrid puts attention in the top two.
    results = train.main(tiny_args(tmp_path, "--task", "listops", "--model", f"{family}_tiny",
                                   "--num-layers", "2", "--steps", "2", "--eval-steps", "1"))
    assert results["steps"] == 2 and results["resumed_from_step"] == 0
    assert results["backend"] == BACKEND
    assert np.isfinite(results["history"]["loss"]).all()
    metrics = read_metrics(tmp_path)
    assert 0.0 <= metrics["metrics"]["accuracy"] <= 1.0
    assert 0.0 < metrics["majority_baseline"] <= 1.0
    assert metrics["config"]["mixing"] == keras_fnet.get_config(f"{family}_tiny").mixing
    for name in ("model.keras", "checkpoint.weights.h5", "checkpoint.json"):
        assert os.path.exists(tmp_path / name), name
    assert os.listdir(tmp_path / "logs" / "train"), "no TensorBoard events"
    # The saved model loads with the library alone (no training code needed).
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, keras_fnet.Classifier)


def test_pretrain_then_fine_tune_on_glue(tmp_path):
    pretrain = train.main(tiny_args(tmp_path / "pretrain", "--task", "pretrain", "--steps", "2",
                                    "--max-length", "48"))
    assert set(pretrain["metrics"]) >= {"mlm_accuracy", "nsp_accuracy"}
    assert isinstance(keras.saving.load_model(tmp_path / "pretrain" / "model.keras"),
                      keras_fnet.Pretrainer)

    pretrained = keras.saving.load_model(tmp_path / "pretrain" / "model.keras").encoder
    glue = train.main(tiny_args(tmp_path / "mrpc", "--task", "glue/mrpc", "--steps", "2",
                                "--init-from", tmp_path / "pretrain" / "model.keras",
                                "--learning-rate", "0", "--max-length", "48", arch=False))
    assert glue["steps"] == 2 and glue["eval_split"] == "validation"
    assert set(glue["evaluation"]) == {"validation"}
    assert set(glue["metrics"]) == {"f1", "accuracy"}
    # With a zero learning rate the fine-tuned encoder still holds the pretrained weights.
    tuned = keras.saving.load_model(tmp_path / "mrpc" / "model.keras").encoder
    for a, b in zip(pretrained.get_weights(), tuned.get_weights()):
        np.testing.assert_allclose(a, b)


def test_glue_regression(tmp_path):
    stsb = train.main(tiny_args(tmp_path, "--task", "glue/stsb", "--steps", "1"))
    assert set(stsb["metrics"]) == {"pearson", "spearman"}
    assert "majority_baseline" not in stsb


def test_init_from_checks(tmp_path, capsys):
    encoder = keras_fnet.build_encoder("fnet_tiny", num_layers=1, hidden_dim=32,
                                       intermediate_dim=64, vocabulary_size=20,
                                       max_sequence_length=32)
    encoder.save(tmp_path / "encoder.keras")
    message = cli_error(tiny_args(tmp_path / "a", "--init-from", tmp_path / "encoder.keras"),
                        capsys)
    assert "--init-from takes the architecture" in message
    message = cli_error(tiny_args(tmp_path / "b", "--init-from", tmp_path / "encoder.keras",
                                  "--max-length", "64", arch=False), capsys)
    assert "exceeds the 32 positions" in message
    message = cli_error(tiny_args(tmp_path / "c", "--init-from", tmp_path / "encoder.keras",
                                  "--task", "glue/cola", arch=False), capsys)
    assert "vocabulary of 20" in message


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision(tmp_path, precision):
    results = train.main(tiny_args(tmp_path, "--steps", "2", "--mixed-precision", precision,
                                   "--checkpoint-every", "1", "--clipnorm", "1.0"))
    assert results["steps"] == 2 and results["precision"] == precision
    assert keras.config.dtype_policy().name == "float32"  # Restored for the caller.


def test_validation_during_training_and_steps_per_execution(tmp_path):
    spe = "1" if BACKEND == "torch" else "2"
    results = train.main(tiny_args(tmp_path, "--steps", "4", "--eval-every", "2",
                                   "--steps-per-execution", spe, "--checkpoint-every", "2"))
    assert results["steps"] == 4
    assert len(results["history"]["val_accuracy"]) == 2
    assert results["history"]["val_step"] == [2, 4]
    # One entry per execution of `steps_per_execution` steps.
    assert results["history"]["step"] == list(range(int(spe), 5, int(spe)))
