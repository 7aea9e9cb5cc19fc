"""The registry's own-data tasks through the training API: a CSV file to a model that predicts
on strings, and pretraining on a plain-text corpus."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from tests.training.training_helpers import ARCH, cli_error, subprocess_env, tail
from training import train

RUN = ["--batch-size", "8", "--steps", "2", "--eval-every", "0", "--checkpoint-every", "0",
       "--verbose", "0"]
if __import__("keras").backend.backend() == "tensorflow":
    RUN += ["--strategy", "default"]
FAST = ARCH + RUN  # A fresh tiny model.
TEXT = ["--max-length", "32", "--vocab-size", "300"]


def _write_csv(path, n, seed):
    rng = np.random.default_rng(seed)
    words = {"pos": ["great", "superb", "lovely"], "neg": ["awful", "dull", "boring"]}
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, ["text", "label"])
        writer.writeheader()
        for i in range(n):
            label = ("pos", "neg")[i % 2]
            text = " ".join(rng.choice(words[label] + ["the", "movie", "was"], 6))
            writer.writerow({"text": text, "label": label})


def test_text_classification_from_csv_predicts_on_strings(tmp_path):
    _write_csv(tmp_path / "train.csv", 48, 0)
    _write_csv(tmp_path / "dev.csv", 16, 1)
    results = train.main(FAST + TEXT + ["--task", "text_classification", "--train-file",
                                 tmp_path / "train.csv", "--validation-file", tmp_path / "dev.csv",
                                 "--output-dir", tmp_path / "run"])
    assert results["eval_split"] == "validation" and results["num_eval_examples"] == 16
    assert (tmp_path / "run" / "vocabulary.spm").exists()
    model_path = str(tmp_path / "run" / "model.keras")
    code = (f"import keras, keras_fnet; m = keras.saving.load_model({model_path!r}); "
            "print(sorted(set(m.predict_labels(['a great movie', 'dull and boring'], "
            "verbose=0)) - {'pos', 'neg'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                            env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("[]"), tail(result)

    # Fine-tuning from that model reuses its encoder *and* its vocabulary (no new one is trained).
    again = train.main(RUN + ["--max-length", "32",
        "--task", "text_classification", "--train-file", tmp_path / "train.csv",
        "--validation-file", tmp_path / "dev.csv", "--init-from", tmp_path / "run" / "model.keras",
        "--output-dir", tmp_path / "again"])
    assert not (tmp_path / "again" / "vocabulary.spm").exists()
    copied = (tmp_path / "again" / "init_vocabulary.spm").read_bytes()
    assert copied == (tmp_path / "run" / "vocabulary.spm").read_bytes()
    assert again["config"] == results["config"]

    # ... and so does a preset directory written from it.
    import keras

    keras.saving.load_model(tmp_path / "run" / "model.keras").save_to_preset(tmp_path / "preset")
    from_preset = train.main(RUN + ["--max-length", "32",
        "--task", "text_classification", "--train-file", tmp_path / "train.csv",
        "--validation-file", tmp_path / "dev.csv", "--init-from", tmp_path / "preset",
        "--output-dir", tmp_path / "from_preset"])
    assert not (tmp_path / "from_preset" / "vocabulary.spm").exists()
    assert from_preset["config"] == results["config"]


@pytest.mark.parametrize("extension, labels, pair", [(".tsv", [2, 0, 1], True),
                                                     (".jsonl", [1, 0], False)])
def test_text_classification_cli_on_tsv_and_jsonl(tmp_path, extension, labels, pair):
    from tests.data.test_text_files import _rows, _write

    train_file = _write(tmp_path / f"train{extension}", _rows(24, labels, seed=0))
    dev_file = _write(tmp_path / f"dev{extension}", _rows(8, labels, seed=1))
    pair_flags = ["--text-pair-column", "text_b"] if pair else []
    results = train.main(FAST + TEXT + pair_flags + [
        "--task", "text_classification", "--train-file", train_file,
        "--validation-file", dev_file, "--output-dir", tmp_path / "run"])
    assert results["num_eval_examples"] == 8
    import keras

    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert sorted(model.preprocessor.label_names) == sorted(str(label) for label in labels)
    assert model.predict_labels((["good film"], ["dull plot"]) if pair else ["good film"],
                                verbose=0)[0] in model.preprocessor.label_names


def test_pretrain_on_own_corpus(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
    (corpus / "a.txt").write_text("\n\n".join(
        " ".join(" ".join(rng.choice(words, 6)).capitalize() + "." for _ in range(4))
        for _ in range(12)))
    results = train.main(FAST + TEXT + ["--task", "pretrain", "--corpus", corpus,
                                 "--output-dir", tmp_path / "run"])
    assert set(results["metrics"]) >= {"mlm_accuracy", "nsp_accuracy"}
    assert results["config"]["vocabulary_size"] <= 300
    assert (tmp_path / "run" / "vocabulary.spm").exists()
    # Fine-tuning the pretrained encoder tokenizes with the pretraining's vocabulary.
    _write_csv(tmp_path / "train.csv", 16, 0)
    tuned = train.main(RUN + ["--max-length", "32", "--task", "text_classification",
                              "--train-file", tmp_path / "train.csv", "--validation-file",
                              tmp_path / "train.csv",
                              "--init-from", tmp_path / "run" / "model.keras",
                              "--output-dir", tmp_path / "tuned"])
    assert not (tmp_path / "tuned" / "vocabulary.spm").exists()
    assert tuned["config"]["vocabulary_size"] == results["config"]["vocabulary_size"]
    (tmp_path / "run" / "vocabulary.spm").rename(tmp_path / "elsewhere.spm")
    message = cli_error(RUN + ["--max-length", "32", "--task", "text_classification",
                               "--train-file", tmp_path / "train.csv", "--validation-file",
                               tmp_path / "train.csv",
                               "--init-from", tmp_path / "run" / "model.keras",
                               "--output-dir", tmp_path / "tuned2"], capsys)
    assert "no vocabulary comes with it" in message and "--vocabulary" in message


def test_digits_trains_a_feature_encoder(tmp_path, capsys):
    results = train.main(FAST + ["--task", "digits", "--output-dir", tmp_path])
    assert results["config"]["input_kind"] == "features" and results["max_length"] == 8
    assert results["eval_split"] == "test" and results["num_eval_examples"] == 270
    assert 0.0 <= results["metrics"]["accuracy"] <= 1.0

    message = cli_error(FAST + ["--task", "digits", "--max-length", "16", "--output-dir",
                                     tmp_path / "b"], capsys)
    assert "--max-length 16: task digits has sequences of exactly 8" in message
