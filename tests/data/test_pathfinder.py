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


def test_cli_and_load_task_share_the_default_difficulty(tmp_path):
    # Issue 10 audit: the CLI drew "easy", load_task "hard".
    from keras_fnet.data import base, load_task

    assert pathfinder.DEFAULT_DIFFICULTY == "hard"
    out = tmp_path / "pf.npz"
    pathfinder.main(["--num-examples", "4", "--output", str(out)])
    cli_images, cli_labels = pathfinder.load_npz(str(out))
    assert np.array_equal(cli_images, pathfinder.generate(4, 32, "hard", seed=0)[0])
    # load_task's mock data for split "train" with seed 0 uses generator seed 0.
    x, y = next(iter(load_task("pathfinder", "train", batch_size=4, mock=True,
                               mock_examples=4, seed=0, shuffle=False)))
    pixels = np.asarray(x["token_ids"])[:, 1:] - base.VALUE_OFFSET
    assert np.array_equal(pixels.reshape(cli_images.shape), cli_images)
    assert np.array_equal(np.asarray(y), cli_labels)


# Issue 12: bad flags are one-line errors, exit 2, before any image is drawn.
@pytest.mark.parametrize("flags, message", [
    (["--num-examples", "-5"], "argument --num-examples: must be an integer >= 1, got -5"),
    (["--num-examples", "0"], "argument --num-examples: must be an integer >= 1, got 0"),
    (["--seed", "-1"], "argument --seed: must be an integer >= 0, got -1"),
    (["--resolution", "48"], "argument --resolution: invalid choice: 48 (choose from 32, 64, 128)"),
])
def test_cli_rejects_bad_flags_before_work(tmp_path, capsys, flags, message):
    out = tmp_path / "pf.npz"
    with pytest.raises(SystemExit) as exit_info:
        pathfinder.main(flags + ["--output", str(out)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"python -m keras_fnet.data.pathfinder: error: {message}\n"
    assert not out.exists()


def test_layout_retries_are_bounded(monkeypatch):
    # A path length that cannot fit: the generator gives up instead of looping.
    monkeypatch.setitem(pathfinder.DIFFICULTIES, "hard", (400, 5))
    monkeypatch.setattr(pathfinder, "MAX_LAYOUTS", 3)
    with pytest.raises(RuntimeError, match="Could not lay out 5 separate paths of 400 pixels"):
        pathfinder.generate_image(np.random.default_rng(0), 32, "hard")
