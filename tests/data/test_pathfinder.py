"""Pathfinder generator: labels checked by an independent flood fill."""

from collections import deque

import numpy as np
import pytest

from keras_fnet.data import pathfinder


def _flood_connected(image, a, b):
    """8-connected flood fill over non-zero pixels from a; is b reached?"""
    h, w = image.shape
    seen = np.zeros_like(image, dtype=bool)
    queue = deque([a])
    seen[a] = True
    while queue:
        y, x = queue.popleft()
        if (y, x) == b:
            return True
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                yy, xx = y + dy, x + dx
                if (0 <= yy < h and 0 <= xx < w and not seen[yy, xx]
                        and image[yy, xx] > 0):
                    seen[yy, xx] = True
                    queue.append((yy, xx))
    return False


@pytest.mark.parametrize("resolution,difficulty", [
    (32, "easy"), (32, "hard"), (64, "intermediate"),
])
def test_labels_match_flood_fill(resolution, difficulty):
    rng = np.random.default_rng(5)
    for _ in range(40):
        image, label, (a, b) = pathfinder.generate_image(
            rng, resolution, difficulty)
        assert image.shape == (resolution, resolution)
        assert image[a] == pathfinder.MARKER_VALUE
        assert image[b] == pathfinder.MARKER_VALUE
        assert _flood_connected(image, a, b) == bool(label)


def test_two_markers_and_balanced_labels():
    images, labels = pathfinder.generate(60, 32, "easy", seed=0)
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    assert abs(int(labels.sum()) - 30) <= 1
    for image in images:
        assert set(np.unique(image)) <= {0, pathfinder.PATH_VALUE,
                                         pathfinder.MARKER_VALUE}
        assert (image == pathfinder.MARKER_VALUE).any()


def test_deterministic_per_seed():
    a = pathfinder.generate(5, 32, seed=1)
    b = pathfinder.generate(5, 32, seed=1)
    c = pathfinder.generate(5, 32, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="resolution"):
        pathfinder.generate_image(rng, 48)
    with pytest.raises(ValueError, match="difficulty"):
        pathfinder.generate_image(rng, 32, "impossible")


def test_npz_roundtrip_and_dataset(tmp_path):
    images, labels = pathfinder.generate(6, 32, seed=0)
    path = str(tmp_path / "pf.npz")
    pathfinder.save_npz(path, images, labels)
    images2, labels2 = pathfinder.load_npz(path)
    assert np.array_equal(images, images2)
    ds = pathfinder.make_dataset(images2, labels2, batch_size=3)
    x, y = next(iter(ds))
    assert x["token_ids"].shape == (3, 1025)
    assert x["token_ids"].dtype == "int32" and y.dtype == "int32"
    ids = x["token_ids"].numpy()
    assert (ids[:, 0] == 1).all()
    assert np.array_equal(ids[0, 1:] - 3, images[0].reshape(-1))
    assert x["padding_mask"].numpy().all()
    with pytest.raises(ValueError, match="cannot hold"):
        pathfinder.make_dataset(images, labels, 3, max_length=1024)
    with pytest.raises(FileNotFoundError, match="python -m"):
        pathfinder.load_npz(str(tmp_path / "missing.npz"))
