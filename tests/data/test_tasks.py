"""The dispatcher: every task loads in mock mode and feeds model.fit."""

import keras
import numpy as np
import pytest

from keras_fnet.data import load_task
from keras_fnet.data import task_info

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
        assert set(y) == {"mlm", "nsp"} and set(batch[2]) == {"mlm"}
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
    with pytest.raises(TypeError, match="difficulty"):
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
