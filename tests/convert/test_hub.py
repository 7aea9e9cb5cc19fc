"""Names and hub handles (`hf://`, `kaggle://`) through the real clients' cache lookups.

Each test lays out a Hugging Face or kagglehub cache itself (in the clients'
own layouts) with random-weight checkpoints that transformers and keras-hub
wrote, then loads by handle or name: the outputs must be the source library's
own to 1e-4. Nothing is downloaded: offline runs must not touch the network,
and a handle that is not cached must fail at once with a one-line error.
"""

import os
import shutil

import numpy as np
import pytest

import keras_fnet
from keras_fnet import hub, presets
from tests.convert.convert_reference import SIZES, TOLERANCE, max_abs, to_numpy

pytest.importorskip("huggingface_hub")
import huggingface_hub.constants  # noqa: E402  (a lazy attribute of the package)

pytest.importorskip("kagglehub")

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """`lay_out(repo, src_dir)`: `src_dir`'s files as the cached `main` of `repo`."""
    root = tmp_path / "hf-cache"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root))

    def lay_out(repo, src_dir):
        folder = root / f"models--{repo.replace('/', '--')}"
        shutil.copytree(src_dir, folder / "snapshots" / COMMIT)
        (folder / "refs").mkdir()
        (folder / "refs" / "main").write_text(COMMIT)
        return str(folder / "snapshots" / COMMIT)

    return lay_out


@pytest.fixture
def kaggle_cache(tmp_path, monkeypatch):
    """`lay_out("OWNER/MODEL/FRAMEWORK/VARIATION/VERSION", src_dir, complete=True)`."""
    root = tmp_path / "kaggle-cache"
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(root))

    def lay_out(path, src_dir, complete=True):
        folder = root / "models" / path
        shutil.copytree(src_dir, folder)
        if complete:
            (folder.parent / f"{folder.name}.complete").touch()
        return str(folder)

    return lay_out


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _mlm_and_nsp(model, inputs):
    length = inputs["token_ids"].shape[1]
    positions = np.tile(np.arange(length, dtype="int32"), (len(inputs["token_ids"]), 1))
    return to_numpy(model({**inputs, "mask_positions": positions}))


def test_hf_handle_loads_a_cached_fnet_offline(hf_pretraining, hf_cache, offline):
    snapshot = hf_cache("tester/fnet-tiny", hf_pretraining["dir"])
    model = keras_fnet.from_preset("hf://tester/fnet-tiny")
    assert isinstance(model, keras_fnet.Pretrainer)
    heads = _mlm_and_nsp(model, hf_pretraining["inputs"])
    assert max_abs(heads["mlm"], hf_pretraining["prediction_logits"]) <= TOLERANCE
    assert max_abs(heads["nsp"], hf_pretraining["seq_relationship_logits"]) <= TOLERANCE
    # The SentencePiece vocabulary comes along, from the cache.
    assert model.spm_path == os.path.join(snapshot, "spiece.model")
    # A pinned revision (a commit) resolves to the same snapshot.
    encoder = keras_fnet.Encoder.from_preset(f"hf://tester/fnet-tiny@{COMMIT}")
    pooled = to_numpy(encoder(hf_pretraining["inputs"]))["pooled_output"]
    assert max_abs(pooled, hf_pretraining["pooler_output"]) <= TOLERANCE


def test_named_hf_presets_and_their_repository_names(hf_pretraining, hf_bert, hf_cache,
                                                     offline):
    # A tiny random model in place of google/fnet-base: the name's real resolution path.
    hf_cache("google/fnet-base", hf_pretraining["dir"])
    for name in ("fnet_base", "google/fnet-base"):
        encoder = keras_fnet.Encoder.from_preset(name)
        output = to_numpy(encoder(hf_pretraining["inputs"]))["sequence_output"]
        assert max_abs(output, hf_pretraining["last_hidden_state"]) <= TOLERANCE
    hf_cache("google-bert/bert-base-uncased", hf_bert["dir"])
    model = keras_fnet.from_preset("bert_base_uncased")
    assert model.encoder.config.mixing == "attention"
    heads = _mlm_and_nsp(model, hf_bert["inputs"])
    assert max_abs(heads["mlm"], hf_bert["prediction_logits"]) <= TOLERANCE


def test_kaggle_handles_and_names_through_kagglehub(keras_hub_preset, keras_hub_bert,
                                                    kaggle_cache):
    # Online mode: kagglehub itself finds the pinned version in its cache.
    kaggle_cache("keras/f_net/keras/f_net_base_en/3", keras_hub_preset["dir"])
    for preset in ("f_net_base_en", "kaggle://keras/f_net/keras/f_net_base_en/3"):
        encoder = keras_fnet.from_preset(preset)
        ours = to_numpy(encoder(keras_hub_preset["inputs"]))
        assert max_abs(ours["sequence_output"], keras_hub_preset["sequence_output"]) <= TOLERANCE
        assert encoder.spm_path.endswith(presets.VOCABULARY_FILE)
    kaggle_cache("keras/bert/keras/bert_tiny_en_uncased/3", keras_hub_bert["dir"])
    clf = keras_fnet.Classifier.from_preset("bert_tiny_en_uncased", num_classes=3)
    assert clf.num_classes == 3 and clf.encoder.config.mixing == "attention"
    ours = to_numpy(clf.encoder(keras_hub_bert["inputs"]))
    assert max_abs(ours["sequence_output"], keras_hub_bert["sequence_output"]) <= TOLERANCE


def test_kaggle_offline_reads_the_cache_and_takes_the_newest_complete_version(
        keras_hub_preset, kaggle_cache, offline):
    kaggle_cache("tester/f_net/keras/tiny/2", keras_hub_preset["dir"])
    kaggle_cache("tester/f_net/keras/tiny/3", keras_hub_preset["dir"], complete=False)
    path = hub.resolve("kaggle://tester/f_net/keras/tiny")
    assert path.endswith(os.path.join("tiny", "2"))  # 3 was never completed
    encoder = keras_fnet.from_preset("kaggle://tester/f_net/keras/tiny/2")
    ours = to_numpy(encoder(keras_hub_preset["inputs"]))
    assert max_abs(ours["pooled_output"], keras_hub_preset["pooled_output"]) <= TOLERANCE
    with pytest.raises(presets.PresetError, match="not in the kagglehub cache"):
        keras_fnet.from_preset("kaggle://tester/f_net/keras/tiny/3")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("preset, client", [
    ("fnet_large", "Hugging Face"), ("hf://tester/absent", "Hugging Face"),
    ("f_net_large_en", "kagglehub"), ("kaggle://tester/f_net/keras/absent/1", "kagglehub"),
])
def test_offline_without_the_files_is_one_line_naming_the_handle(
        preset, client, hf_cache, kaggle_cache, offline):
    with pytest.raises(presets.PresetError) as info:
        keras_fnet.from_preset(preset)
    message = str(info.value)
    assert "\n" not in message and f"not in the {client} cache" in message
    handle = hub.PRETRAINED[preset].handle if preset in hub.PRETRAINED else preset
    assert handle in message
    assert f"python -m keras_fnet.hub download {preset}" in message


@pytest.mark.parametrize("preset, expected", [
    ("hf://only-an-owner", "expected hf://OWNER/REPO"),
    ("kaggle://keras/f_net/keras", "expected kaggle://OWNER/MODEL/FRAMEWORK/VARIATION"),
    ("kaggle://keras/f_net/keras/f_net_base_en/latest", "VERSION a number"),
    ("f_net_huge_en", "nor a known name .*f_net_base_en"),
])
def test_malformed_handles_and_unknown_names(preset, expected):
    with pytest.raises(presets.PresetError, match=expected):
        keras_fnet.from_preset(preset)


# The published configurations of the named models (the sources' config.json).
ARCHITECTURES = {
    "f_net_base_en": dict(vocab=32000, hidden=768, layers=12, ff=3072, positions=512, types=4),
    "f_net_large_en": dict(vocab=32000, hidden=1024, layers=24, ff=4096, positions=512, types=4),
    "fnet_base": dict(vocab=32000, hidden=768, layers=12, ff=3072, positions=512, types=4),
    "fnet_large": dict(vocab=32000, hidden=1024, layers=24, ff=4096, positions=512, types=4),
    "bert_tiny_en_uncased": dict(vocab=30522, hidden=128, layers=2, ff=512, positions=512,
                                 types=2),
    "bert_base_en_uncased": dict(vocab=30522, hidden=768, layers=12, ff=3072, positions=512,
                                 types=2),
    "bert_base_uncased": dict(vocab=30522, hidden=768, layers=12, ff=3072, positions=512,
                              types=2),
}


def _parameters(family, vocab, hidden, layers, ff, positions, types):
    """An encoder's parameters, counted by hand: embeddings (FNet: with its projection),
    per layer [attention] + two LayerNorms + the feed-forward, and the pooler."""
    dense = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
    embeddings = (vocab + positions + types) * hidden + 2 * hidden
    if family == "fnet":
        embeddings += dense(hidden, hidden)
    block = 4 * hidden + dense(hidden, ff) + dense(ff, hidden)
    if family == "bert":
        block += 4 * dense(hidden, hidden)
    return embeddings + layers * block + dense(hidden, hidden)


def test_every_card_is_complete_and_its_parameter_count_adds_up():
    assert set(ARCHITECTURES) == set(hub.list_presets())
    for name, card in hub.list_presets().items():
        assert card.handle.startswith(("hf://", "kaggle://")) and card.licence and card.paper
        assert card.parameters == _parameters(card.family, **ARCHITECTURES[name]), name
        assert name in card.card() and card.handle in card.card()
        if card.handle.startswith("kaggle://"):
            assert card.handle.rsplit("/", 1)[1].isdigit(), f"{name}: pin the version"
    assert set(hub.list_presets("bert")) == {"bert_tiny_en_uncased", "bert_base_en_uncased",
                                            "bert_base_uncased"}


@pytest.mark.parametrize("family", ["fnet", "bert"])
def test_the_hand_count_is_the_zoos_count(family):
    # The formula above, checked on zoo models of the same shape (tiny, to build fast).
    shape = dict(vocab=SIZES["vocab"], hidden=32, layers=2, ff=48, positions=40,
                 types=4 if family == "fnet" else 2)
    encoder = keras_fnet.build_encoder(
        f"{family}_tiny", vocabulary_size=shape["vocab"], hidden_dim=shape["hidden"],
        num_layers=shape["layers"], intermediate_dim=shape["ff"],
        max_sequence_length=shape["positions"], num_segments=shape["types"],
        **({"embedding_dim": 32} if family == "fnet" else {}))
    assert encoder.count_params() == _parameters(family, **shape)


def test_the_command_lists_cards_and_downloads_into_the_cache(hf_pretraining, hf_cache,
                                                                offline, capsys):
    assert hub.main(["list", "--family", "fnet"]) == 0
    printed = capsys.readouterr().out
    assert "f_net_base_en  (fnet, 82,861,056 parameters)" in printed and "bert" not in printed
    snapshot = hf_cache("tester/fnet-tiny", hf_pretraining["dir"])
    assert hub.main(["download", "hf://tester/fnet-tiny"]) == 0
    assert capsys.readouterr().out.strip() == f"hf://tester/fnet-tiny: {snapshot}"
    assert hub.main(["download", "hf://tester/absent"]) == 2
    assert "not in the Hugging Face cache" in capsys.readouterr().err


def test_training_starts_from_a_preset_on_the_hub(tmp_path, hf_cache, offline, capsys):
    # A keras-fnet preset uploaded to the hub (laid out in the cache) starts a fine-tuning run,
    # with its vocabulary; a name that is not cached is the usual one-line CLI error.
    from tests.training.test_own_data import RUN, TEXT, _write_csv
    from tests.training.training_helpers import ARCH, cli_error
    from training import train

    _write_csv(tmp_path / "train.csv", 32, 0)
    _write_csv(tmp_path / "dev.csv", 8, 1)
    data = ["--task", "text_classification", "--train-file", tmp_path / "train.csv",
            "--validation-file", tmp_path / "dev.csv"]
    first = train.main(ARCH + RUN + TEXT + data + ["--output-dir", tmp_path / "run"])
    import keras

    keras.saving.load_model(tmp_path / "run" / "model.keras").save_to_preset(tmp_path / "preset")
    hf_cache("tester/my-fnet", tmp_path / "preset")
    again = train.main(RUN + ["--max-length", "32"] + data + [
        "--init-from", "hf://tester/my-fnet", "--output-dir", tmp_path / "again"])
    assert again["config"] == first["config"]
    assert not (tmp_path / "again" / "vocabulary.spm").exists()  # none trained: the preset's
    message = cli_error(RUN + data + ["--init-from", "fnet_large", "--output-dir",
                                      tmp_path / "c"], capsys)
    assert "fnet_large" in message and "not in the Hugging Face cache" in message


def test_the_guides_table_is_the_code_table():
    import pathlib

    guide = pathlib.Path(__file__).resolve().parents[2] / "docs" / "guides" / "presets.md"
    row = __import__("re").compile(r"\| `\w+` \| `(fnet|bert)` \|")
    rows = [line for line in guide.read_text().splitlines() if row.match(line)]
    expected = [f"| `{p.name}` | `{p.family}` | {p.parameters:,} | `{p.handle}` |"
                for p in hub.PRETRAINED.values()]
    assert rows == expected
