"""The task registry: every task loads in mock mode, one way in, and feeds model.fit."""

import json

import keras
import numpy as np
import pytest

from keras_fnet.data import load_task, task_info

ALL = ["pretrain", "listops", "lra_text", "lra_image", "pathfinder",
       "retrieval", "glue/stsb"]


@pytest.mark.parametrize("name", ALL)
def test_every_task_mock(name):
    info = task_info(name, mock=True)
    split = "train"
    max_length = None if name in ("lra_image", "pathfinder") else 64
    ds = load_task(name, split, batch_size=4, max_length=max_length,
                   mock=True, mock_examples=12, drop_remainder=True)
    batch = next(iter(ds))
    x, y = batch[0], batch[1]
    length = max_length or info.default_max_length
    assert x["token_ids"].shape == (4, length)
    ids = x["token_ids"].numpy()
    assert ids.min() >= 0 and ids.max() < info.vocabulary_size
    if name == "pretrain":
        assert set(y) == {"mlm", "nsp"} and set(batch[2]) == {"mlm", "nsp"}
        assert x["mask_positions"].shape == (4, 80)
    elif info.is_regression:
        assert y.dtype == "float32"
    else:
        assert y.dtype == "int32"
        assert y.numpy().max() < info.num_classes


def test_task_info_values():
    assert task_info("listops").num_classes == 10
    assert task_info("listops").vocabulary_size == 20
    assert task_info("glue/stsb").num_classes == 1
    assert task_info("glue/mnli").num_classes == 3
    assert task_info("glue/cola").metrics == ("matthews_corrcoef",)
    assert task_info("glue/cola").vocabulary_size == 32000
    assert task_info("c4").name == "pretrain"
    assert task_info("pretrain", mock=True).mask_id == 4
    assert task_info("lra_image").default_max_length == 1025
    assert task_info("pathfinder128").default_max_length == 128 * 128 + 1
    with pytest.raises(ValueError, match="listops"):
        task_info("nope")
    with pytest.raises(ValueError, match="Unknown split"):
        load_task("listops", "dev", 4, mock=True)
    with pytest.raises(TypeError, match="Unexpected options for task 'listops': difficulty"):
        load_task("listops", "train", 4, mock=True, difficulty="hard")


def test_generated_tasks_are_cached(tmp_path, capsys):
    kwargs = dict(batch_size=4, max_length=64, data_dir=str(tmp_path),
                  num_examples=10)
    ds = load_task("listops", "validation", **kwargs)
    assert "generating 10 validation" in capsys.readouterr().out
    first = [b[1].numpy().tolist() for b in ds]
    ds = load_task("listops", "validation", **kwargs)
    assert capsys.readouterr().out == ""
    assert [b[1].numpy().tolist() for b in ds] == first
    assert len(list((tmp_path / "listops").glob("*/validation_10.tsv"))) == 1
    # Another size is another cache entry, not the cached 10 examples.
    ds = load_task("listops", "validation", **dict(kwargs, num_examples=12))
    assert "generating 12 validation" in capsys.readouterr().out
    assert sum(b[1].shape[0] for b in ds) == 12
    ds = load_task("pathfinder", "test", 2, data_dir=str(tmp_path),
                   num_examples=4, difficulty="easy")
    assert sum(b[1].shape[0] for b in ds) == 4
    assert list((tmp_path / "pathfinder").glob("*/test_4.npz"))


def test_batches_feed_model_fit():
    """A tiny model with the same inputs as the FNet classifier trains on
    the ListOps pipeline on the current backend."""
    info = task_info("listops")
    ds = load_task("listops", "train", batch_size=8, max_length=32,
                   mock=True, mock_examples=32, drop_remainder=True)
    token_ids = keras.Input((32,), dtype="int32", name="token_ids")
    segment_ids = keras.Input((32,), dtype="int32", name="segment_ids")
    padding_mask = keras.Input((32,), dtype="int32", name="padding_mask")
    h = keras.layers.Embedding(info.vocabulary_size, 8)(token_ids)
    h = h + keras.layers.Embedding(2, 8)(segment_ids)
    h = h * keras.ops.expand_dims(
        keras.ops.cast(padding_mask, h.dtype), -1)
    logits = keras.layers.Dense(info.num_classes)(h[:, 0])
    model = keras.Model(
        {"token_ids": token_ids, "segment_ids": segment_ids,
         "padding_mask": padding_mask}, logits)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_registry_knows_each_task():
    from keras_fnet.data import tasks as registry

    assert registry.get_task("glue/mnli").eval_splits == (
        "validation_matched", "validation_mismatched")
    assert registry.get_task("glue/mnli").validation_split == "validation_matched"
    assert registry.get_task("glue/stsb").kind == "regression"
    assert registry.get_task("c4").name == "pretrain"
    assert registry.get_task("pretrain").kind == "pretraining"
    assert registry.get_task("pathfinder32").min_length == 32 * 32 + 1
    assert registry.get_task("listops").eval_splits == ("test",)
    for name in registry.task_names():
        task = registry.get_task(name)
        info = task.info({"mock": True})
        assert set(task.eval_splits) <= set(info.splits), name
        assert task.validation_split in info.splits, name
        if task.train_examples is None:  # Data that cannot be generated here.
            assert any(where in task.data_help
                       for where in ("--data-dir", "--train-file", "scikit-learn")), name
    with pytest.raises(ValueError, match="Unknown task 'glue/nope'.*glue/mnli.*listops"):
        registry.get_task("glue/nope")
    from keras_fnet.data import registry as old_registry  # The old import path still works.

    assert old_registry.get_task is registry.get_task and old_registry.task_names() == \
        registry.task_names()


def test_a_new_task_is_one_registration(monkeypatch):
    from keras_fnet.data import base, listops
    from keras_fnet.data import tasks as registry
    from keras_fnet.data.tasks import base as registry_base

    def load(split, batch_size, max_length, mock=False, seed=0, **common):
        sources = ["[MAX 1 2 ]", "[MIN 3 4 ]"] * 4
        targets = np.array([listops.evaluate(s) for s in sources], np.int32)
        common.pop("data_dir", None)
        common.pop("mock_examples", None)
        return listops.make_dataset(sources, targets, max_length, batch_size, seed=seed,
                                    **common)

    task = registry.Task("toy", lambda options: base.TaskInfo(
        "toy", 10, listops.VOCABULARY_SIZE, ("accuracy",), ("train", "test"), 16), load)
    monkeypatch.setitem(registry_base._TASKS, "toy", task)
    _, labels = next(iter(load_task("toy", "test", batch_size=8, max_length=16, shuffle=False)))
    assert labels.numpy().tolist() == [2, 3] * 4
    prepared = task.prepare({"mock": True})
    assert prepared.info.num_classes == 10 and prepared.vocabulary is None


def test_damaged_cache_is_generated_again(tmp_path, capsys):
    kwargs = dict(batch_size=4, max_length=64, data_dir=str(tmp_path), num_examples=10)
    first = [b[1].numpy().tolist() for b in load_task("listops", "test", **kwargs)]
    (path,) = tmp_path.glob("listops/*/test_10.tsv")
    stamp = json.loads(path.with_name(path.name + ".json").read_text())
    assert stamp["count"] == 10 and len(stamp["sha256"]) == 64
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # Truncated: still parses, fewer rows.
    capsys.readouterr()
    again = [b[1].numpy().tolist() for b in load_task("listops", "test", **kwargs)]
    assert "generating it again" in capsys.readouterr().out
    assert again == first
    path.with_name(path.name + ".json").unlink()  # No sidecar: not trusted either.
    load_task("listops", "test", **kwargs)
    assert "no valid checksum" in capsys.readouterr().out
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_every_task_is_reached_one_way_with_typed_options(tmp_path):
    """`load_task` goes through `prepare` too: the own-data tasks load or say what is missing."""
    from keras_fnet.data import digits
    from keras_fnet.data.tasks import Task, TaskOptions, get_task

    x, y = next(iter(load_task("digits", "test", batch_size=5, shuffle=False)))
    expected_x, expected_y = digits.arrays("test")
    np.testing.assert_array_equal(y.numpy(), expected_y[:5])
    np.testing.assert_allclose(x["features"].numpy(), expected_x["features"][:5])
    assert task_info("digits").num_classes == 10
    with pytest.raises(ValueError, match=r"train_file \(--train-file\) is required"):
        load_task("text_classification", "train", 4)
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"word{i} and more,{i % 2}\n" for i in range(40)))
    with pytest.raises(ValueError, match="pass `vocabulary` or a `work_dir`"):
        load_task("text_classification", "train", 4, train_file=str(train),
                  validation_file=str(train))
    with pytest.raises(TypeError, match="Unknown task options: colour"):
        get_task("listops").prepare({"colour": "red"})
    with pytest.raises(ValueError, match="unknown options"):
        Task("bad", lambda options: None, lambda *a, **k: None, options=("colour",))
    assert get_task("listops").prepare(TaskOptions(mock=True)).info.num_classes == 10
