"""Pathfinder (Long Range Arena): a procedural generator and `tf.data` pipeline.

Each image (32 x 32, 64 x 64 or 128 x 128, grayscale uint8) holds
`num_paths` curved paths on a black background and two round markers. The
label is 1 when both markers sit on the two ends of the same path and 0 when
they sit on ends of two different paths. The task (Linsley et al., 2018; LRA)
is to decide this from the flattened pixel sequence.

This generator is a re-implementation of the idea, not of the original
stimulus code: paths are smooth random walks (the heading turns by a small
random angle at each step) drawn as 8-connected pixel chains, and no pixel of
one path (or its markers) touches a pixel of another path, so that the label
is exactly "the markers lie in the same 8-connected component of non-zero
pixels" (the tests check this by flood fill). The original dataset draws
dashed paths; here the difficulty is set by the path length and the number
of distractor paths (`difficulty`: easy / intermediate / hard). The default,
here and in `load_task("pathfinder")`, is `DEFAULT_DIFFICULTY` = "hard":
LRA's Pathfinder task is the hardest setting of Linsley et al.'s stimuli
(the longest paths, `curv_contour_length_14`), so the default is the
closest to the benchmark that the paper reports.

Pixel values become token ids `value + VALUE_OFFSET` (pad 0, `[CLS]` 1), so a
32 x 32 image is a sequence of 1024 pixel tokens plus `[CLS]`.

This module uses TensorFlow for the pipeline; the generator is pure numpy.

Command line (every flag is checked before any image is drawn):

    python -m keras_fnet.data.pathfinder --num-examples 2000 --output pf.npz

Example:

>>> images, labels = generate(4, resolution=32, seed=0)
>>> images.shape, images.dtype.name, labels.tolist()
((4, 32, 32), 'uint8', [1, 1, 0, 0])
"""

import os
import sys
import time

import numpy as np

from keras_fnet import fileio

RESOLUTIONS = (32, 64, 128)
# (path length in pixels at 32 x 32, number of paths) per difficulty; the
# length scales linearly with the resolution.
DIFFICULTIES = {
    "easy": (14, 3),
    "intermediate": (20, 4),
    "hard": (26, 5),
}
DEFAULT_DIFFICULTY = "hard"
# Layouts drawn for one image before giving up (hard at 128 x 128 needs a few).
MAX_LAYOUTS = 1000
PATH_VALUE = 160
MARKER_VALUE = 255

# The 8 neighbour steps, in angle order (0 = east, counter-clockwise).
_STEPS = np.array(
    [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]
)


def _free_for(owner, y, x, pid):
    """True if (y, x) is empty and no 8-neighbour belongs to another path."""
    h, w = owner.shape
    if not (0 <= y < h and 0 <= x < w) or owner[y, x] != 0:
        return False
    window = owner[max(y - 1, 0): y + 2, max(x - 1, 0): x + 2]
    return not np.any((window != 0) & (window != pid))


def _draw_path(owner, rng, pid, length, tries=40):
    """Draw a smooth random-walk path of `length` pixels labelled `pid`."""
    h, w = owner.shape
    for _ in range(tries):
        y, x = rng.integers(2, h - 2), rng.integers(2, w - 2)
        if not _free_for(owner, y, x, pid):
            continue
        heading = rng.uniform(0, 2 * np.pi)
        pixels = [(y, x)]
        owner[y, x] = pid
        for _ in range(length - 1):
            moved = False
            for _attempt in range(6):
                heading += rng.normal(0, 0.5)
                k = int(np.round(heading / (np.pi / 4))) % 8
                dy, dx = _STEPS[k]
                ny, nx = pixels[-1][0] + dy, pixels[-1][1] + dx
                # Do not step next to older pixels of this path either (keeps
                # the path a simple chain with two clear ends).
                if _free_for(owner, ny, nx, pid) and not _touches_own(
                    owner, ny, nx, pid, pixels[-2:]
                ):
                    pixels.append((ny, nx))
                    owner[ny, nx] = pid
                    moved = True
                    break
                heading += rng.choice([-1, 1]) * np.pi / 4
            if not moved:
                break
        if len(pixels) >= max(3, length * 2 // 3):
            return pixels
        for py, px in pixels:  # too short: erase and retry
            owner[py, px] = 0
    return None


def _touches_own(owner, y, x, pid, recent):
    h, w = owner.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            yy, xx = y + dy, x + dx
            if (0 <= yy < h and 0 <= xx < w and owner[yy, xx] == pid
                    and (yy, xx) not in recent):
                return True
    return False


def _draw_marker(owner, image, y, x, pid):
    """Paint a small disc around (y, x) where it does not touch other paths."""
    h, w = owner.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if abs(dy) + abs(dx) > 1:
                continue
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w and (
                owner[yy, xx] == pid or _free_for(owner, yy, xx, pid)
            ):
                owner[yy, xx] = pid
                image[yy, xx] = MARKER_VALUE


def generate_image(rng, resolution=32, difficulty=DEFAULT_DIFFICULTY, label=None):
    """Generate one Pathfinder image.

    Args:
        rng: a `numpy.random.Generator`.
        resolution: 32, 64 or 128.
        difficulty: "easy", "intermediate" or "hard".
        label: 1 (connected) or 0; None draws it with probability 1/2.

    Raises:
        ValueError: an unknown resolution or difficulty.
        RuntimeError: no layout of the paths fits after `MAX_LAYOUTS` tries.

    Returns:
        `(image, label, markers)`: uint8 `[resolution, resolution]`, int, and
        the two marker centres `((y0, x0), (y1, x1))`.
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got "
                         f"{resolution}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {list(DIFFICULTIES)}, "
                         f"got {difficulty!r}")
    base_length, num_paths = DIFFICULTIES[difficulty]
    length = base_length * resolution // 32
    num_paths += (resolution // 32) - 1  # a few more distractors when larger
    if label is None:
        label = int(rng.integers(2))
    for _ in range(MAX_LAYOUTS):
        owner = np.zeros((resolution, resolution), np.int16)
        paths = []
        for pid in range(1, num_paths + 1):
            path = _draw_path(owner, rng, pid, length)
            if path is None:
                break
            paths.append(path)
        if len(paths) < num_paths:
            continue
        image = np.where(owner > 0, PATH_VALUE, 0).astype(np.uint8)
        first = paths[0]
        if label == 1:
            a, b, pid_b = first[0], first[-1], 1
        else:
            second = paths[1]
            a = first[0] if rng.integers(2) == 0 else first[-1]
            b = second[0] if rng.integers(2) == 0 else second[-1]
            pid_b = 2
        _draw_marker(owner, image, a[0], a[1], 1)
        _draw_marker(owner, image, b[0], b[1], pid_b)
        return image, label, (tuple(a), tuple(b))
    raise RuntimeError(
        f"Could not lay out {num_paths} separate paths of {length} pixels on a "
        f"{resolution} x {resolution} image in {MAX_LAYOUTS} tries "
        f"(difficulty {difficulty!r})."
    )


def generate(num_examples, resolution=32, difficulty=DEFAULT_DIFFICULTY, seed=0,
             verbose=False):
    """Generate a balanced set of Pathfinder images, deterministically.

    Args:
        num_examples: number of images (labels alternate 1, 0 in a seeded
            random order, so the set is balanced to within one).
        resolution: 32, 64 or 128.
        difficulty: "easy", "intermediate" or "hard".
        seed: random seed.
        verbose: print progress every 1000 images.

    Returns:
        `(images, labels)`: uint8 `[N, R, R]`, int32 `[N]`.
    """
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    rng = np.random.default_rng(seed)
    labels = np.arange(num_examples) % 2
    labels = 1 - labels
    rng.shuffle(labels)
    images = np.zeros((num_examples, resolution, resolution), np.uint8)
    start = time.time()
    for i in range(num_examples):
        images[i], _, _ = generate_image(rng, resolution, difficulty,
                                         int(labels[i]))
        if verbose and (i + 1) % 1000 == 0:
            print(f"pathfinder: {i + 1}/{num_examples} images "
                  f"({time.time() - start:.1f}s)", file=sys.stderr)
    return images, labels.astype(np.int32)


def save_npz(path, images, labels):
    """Save images and labels to a compressed `.npz` file."""
    with fileio.whole_file(path) as tmp:
        with open(tmp, "wb") as f:  # A file object: numpy adds no `.npz` to the name.
            np.savez_compressed(f, images=images, labels=labels)


def load_npz(path):
    """Load `(images, labels)` written by `save_npz`."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Pathfinder file {path} not found. Generate it with `python -m "
            f"keras_fnet.data.pathfinder --output {path}`."
        )
    with np.load(path) as f:
        return f["images"], f["labels"].astype(np.int32)


def make_dataset(images, labels, batch_size, max_length=None, add_cls=True,
                 shuffle=False, seed=None, repeat=False,
                 drop_remainder=False):
    """Build the `(features, labels)` pipeline from images.

    Args:
        images: uint8 `[N, R, R]`.
        labels: int `[N]`.
        batch_size: examples per batch.
        max_length: sequence length; default `R * R + add_cls`. Must hold the
            whole image.
        add_cls: put `[CLS]` at position 0.
        shuffle, seed, repeat, drop_remainder: see `base.finish`.

    Returns:
        `tf.data.Dataset` of `(features, labels)` batches.
    """
    import tensorflow as tf

    from keras_fnet.data import base

    images = np.asarray(images)
    n, r = images.shape[0], images.shape[1]
    needed = r * r + int(add_cls)
    max_length = needed if max_length is None else max_length
    if max_length < needed:
        raise ValueError(
            f"max_length={max_length} cannot hold a {r}x{r} image "
            f"({needed} tokens with add_cls={add_cls}); use max_length >= "
            f"{needed} or add_cls=False."
        )
    pixels = images.reshape(n, r * r).astype(np.int32) + base.VALUE_OFFSET
    parts = [pixels]
    if add_cls:
        parts.insert(0, np.full((n, 1), base.CLS_ID, np.int32))
    token_ids = np.concatenate(parts, axis=1)
    token_ids = np.pad(token_ids, [(0, 0), (0, max_length - needed)])
    mask = (np.arange(max_length) < needed).astype(np.int32)
    features = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": np.broadcast_to(mask, token_ids.shape).copy(),
    }
    ds = tf.data.Dataset.from_tensor_slices(
        (features, np.asarray(labels, np.int32))
    )
    return base.finish(ds, batch_size, shuffle=shuffle, seed=seed,
                       repeat=repeat, drop_remainder=drop_remainder)


def main(argv=None):
    from keras_fnet.data import cli

    p = cli.ArgumentParser(
        prog="python -m keras_fnet.data.pathfinder",
        description="Generate Pathfinder images into an .npz file.",
    )
    p.add_argument("--num-examples", type=cli.integer(1), default=2000,
                   help="number of images, >= 1")
    p.add_argument("--resolution", type=int, default=32, choices=RESOLUTIONS)
    p.add_argument("--difficulty", default=DEFAULT_DIFFICULTY,
                   choices=list(DIFFICULTIES),
                   help=f"path length and distractors (default: "
                        f"{DEFAULT_DIFFICULTY}, as load_task('pathfinder'))")
    p.add_argument("--seed", type=cli.integer(0), default=0,
                   help="random seed, >= 0")
    p.add_argument("--output", required=True, type=cli.output_file,
                   help="output .npz path")
    args = p.parse_args(argv)
    start = time.time()
    try:
        images, labels = generate(args.num_examples, args.resolution,
                                  args.difficulty, args.seed, verbose=True)
        save_npz(args.output, images, labels)
    except (RuntimeError, OSError) as error:
        p.error(str(error))
    print(f"wrote {len(labels)} images to {args.output} in "
          f"{time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
