"""Every TFDS pipeline end to end on tfds.testing.mock_data."""

import pytest

from keras_fnet.data import tfds_tasks
from keras_fnet.data import tokenizer as tk


@pytest.fixture
def tokenizer():
    return tk.load_tokenizer(tk.mock_vocabulary())


def _check_features(x, batch, length):
    for key in ("token_ids", "segment_ids", "padding_mask"):
        assert x[key].shape == (batch, length), key
        assert x[key].dtype == "int32", key
    ids = x["token_ids"].numpy()
    mask = x["padding_mask"].numpy()
    assert ((ids != 0) == mask.astype(bool)).all()
    assert mask[:, 0].all()


@pytest.mark.parametrize("name", sorted(tfds_tasks.GLUE_TASKS))
def test_glue_mock(name, tokenizer):
    keys, num_classes, splits = tfds_tasks.GLUE_TASKS[name]
    split = splits[1]
    ds = tfds_tasks.glue(name, split, 4, 48, tokenizer=tokenizer, mock=True,
                         mock_examples=10, drop_remainder=True)
    batches = list(ds)
    assert len(batches) == 2
    x, y = batches[0]
    _check_features(x, 4, 48)
    ids = x["token_ids"].numpy()
    seg = x["segment_ids"].numpy()
    assert (ids[:, 0] == tokenizer.cls_token_id).all()
    num_sep = (ids == tokenizer.sep_token_id).sum(1)
    assert (num_sep == len(keys)).all()
    assert seg.max() == len(keys) - 1
    if num_classes == 1:
        assert y.dtype == "float32"
    else:
        assert y.dtype == "int32"
        assert set(y.numpy().tolist()) <= set(range(num_classes))


def test_glue_train_shuffles_and_repeats(tokenizer):
    ds = tfds_tasks.glue("glue/sst2", "train", 4, 32, tokenizer=tokenizer,
                         mock=True, mock_examples=6, repeat=True, seed=0)
    assert len(list(ds.take(5))) == 5


def test_glue_errors(tokenizer, tmp_path):
    with pytest.raises(ValueError, match="validation_matched"):
        tfds_tasks.glue("glue/mnli", "validation", 4, tokenizer=tokenizer)
    with pytest.raises(ValueError, match="Unknown GLUE task"):
        tfds_tasks.glue("glue/nope", "train", 4, tokenizer=tokenizer)
    with pytest.raises(FileNotFoundError, match="tfds build glue/cola"):
        tfds_tasks.glue("glue/cola", "train", 4, tokenizer=tokenizer,
                        data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="vocabulary"):
        tfds_tasks.glue("glue/cola", "train", 4)


def test_c4_mock(tokenizer):
    stats = {}
    ds = tfds_tasks.c4("train", 4, 64, tokenizer=tokenizer, mock=True,
                       mock_examples=16, max_predictions=10, stats=stats)
    x, y, w = next(iter(ds))
    _check_features({k: x[k] for k in ("token_ids", "segment_ids",
                                       "padding_mask")}, 4, 64)
    assert x["mask_positions"].shape == (4, 10)
    assert x["mask_positions"].dtype == "int32"
    assert y["mlm"].shape == (4, 10) and y["mlm"].dtype == "int32"
    assert y["nsp"].shape == (4,) and y["nsp"].dtype == "int32"
    assert w["mlm"].shape == (4, 10) and w["mlm"].dtype == "float32"
    assert (w["mlm"].numpy().sum(1) >= 1).all()
    assert stats["documents"] > 0
    with pytest.raises(ValueError, match="train, validation"):
        tfds_tasks.c4("test", 4, tokenizer=tokenizer, mock=True)


def test_imdb_bytes_mock():
    ds = tfds_tasks.imdb_bytes("train", 4, 40, mock=True, mock_examples=8,
                               seed=0)
    x, y = next(iter(ds))
    _check_features(x, 4, 40)
    assert y.dtype == "int32"
    ids = x["token_ids"].numpy()
    assert (ids[:, 0] == 1).all()
    n = x["padding_mask"].numpy()[0].sum()
    assert (ids[0, 1:n] >= 3).all() and (ids[0, 1:n] < 259).all()
    with pytest.raises(ValueError, match="train, test"):
        tfds_tasks.imdb_bytes("validation", 4)


def test_cifar_pixels_mock():
    ds = tfds_tasks.cifar10_pixels("test", 4, mock=True, mock_examples=8)
    x, y = next(iter(ds))
    _check_features(x, 4, 1025)
    ids = x["token_ids"].numpy()
    assert (ids[:, 0] == 1).all()
    assert ids[:, 1:].min() >= 3 and ids[:, 1:].max() <= 258
    assert x["padding_mask"].numpy().all()
    assert y.dtype == "int32" and set(y.numpy()) <= set(range(10))
    ds = tfds_tasks.cifar10_pixels("test", 2, add_cls=False, mock=True,
                                   mock_examples=2)
    assert next(iter(ds))[0]["token_ids"].shape == (2, 1024)
    with pytest.raises(ValueError, match="cannot hold"):
        tfds_tasks.cifar10_pixels("test", 4, max_length=512, mock=True)
