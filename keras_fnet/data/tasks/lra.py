"""Long Range Arena tasks made here: ListOps and Pathfinder (generated), Retrieval.

ListOps and Pathfinder are generated locally (`keras_fnet.data.listops`,
`keras_fnet.data.pathfinder`) and cached in `data_dir` (default
`~/.cache/keras_fnet`): each cache file is written whole with a `.json`
sidecar holding its example count and SHA-256, and a file that does not match
its sidecar is generated again (`base.cached`). Retrieval reads the LRA
release files (`keras_fnet.data.retrieval`). LRA Text and Image come from TFDS
(`keras_fnet.data.tasks.tfds`).

Example:

>>> from keras_fnet.data.tasks import TaskOptions, get_task
>>> prepared = get_task("listops").prepare(TaskOptions(mock=True, mock_examples=8))
>>> features, labels = next(iter(prepared.load("train", batch_size=8, max_length=128)))
>>> features["token_ids"].shape, prepared.info.num_classes
(TensorShape([8, 128]), 10)
"""

import os
import tempfile

import numpy as np

from keras_fnet.data import base
from keras_fnet.data.tasks.base import Task, cache_dir, cached, fixed_info, register

SPLITS = ("train", "validation", "test")
PATHFINDER_SIZES = {"train": 160000, "validation": 20000, "test": 20000}


def _split_size(sizes, split, num_examples):
    sizes = dict(sizes)
    if isinstance(num_examples, int):
        return num_examples
    sizes.update(num_examples or {})
    return sizes[split]


def _split_seed(seed, split):
    return seed * 10 + SPLITS.index(split)


def _check_count(name, n):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: the number of examples must be an integer >= 1, got {n!r}.")


def _load_listops(split, batch_size, max_length, data_dir=None, mock=False, mock_examples=64,
                  num_examples=None, min_length=None, generation_max_length=None,
                  keep_parentheses=False, seed=0, shuffle=None, **common):
    from keras_fnet.data import listops

    base.check_split("listops", split, SPLITS)
    gen_max = generation_max_length or min(2000, max_length - 1)
    gen_min = min_length or min(500, gen_max // 4)
    if mock:
        rows = listops.generate(mock_examples, gen_min, gen_max, _split_seed(seed, split))
        sources, targets = [r[0] for r in rows], [r[1] for r in rows]
    else:
        n = _split_size(listops.LRA_SPLIT_SIZES, split, num_examples)
        _check_count("listops", n)
        path = os.path.join(cache_dir(data_dir), "listops",
                            f"len{gen_min}-{gen_max}_seed{seed}", f"{split}_{n}.tsv")

        def generate():
            print(f"listops: generating {n} {split} examples of length "
                  f"{gen_min}..{gen_max} into {path}")
            return listops.generate(n, gen_min, gen_max, _split_seed(seed, split), verbose=True)

        def read(p):
            data = listops.read_tsv(p)
            return data, len(data[1])

        sources, targets = cached(path, n, generate, listops.write_tsv, read)
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return listops.make_dataset(sources, targets, max_length, batch_size,
                                keep_parentheses=keep_parentheses, shuffle=shuffle, seed=seed,
                                **common)


def _pathfinder_loader(resolution):
    def load(split, batch_size, max_length, data_dir=None, mock=False, mock_examples=64,
             difficulty=None, add_cls=True, num_examples=None, seed=0, shuffle=None,
             **common):
        from keras_fnet.data import pathfinder

        difficulty = difficulty or pathfinder.DEFAULT_DIFFICULTY
        base.check_split(f"pathfinder{resolution}", split, SPLITS)
        if mock:
            images, labels = pathfinder.generate(mock_examples, resolution, difficulty,
                                                 _split_seed(seed, split))
        else:
            n = _split_size(PATHFINDER_SIZES, split, num_examples)
            _check_count("pathfinder", n)
            path = os.path.join(cache_dir(data_dir), "pathfinder",
                                f"{resolution}_{difficulty}_seed{seed}", f"{split}_{n}.npz")

            def generate():
                print(f"pathfinder: generating {n} {split} images into {path}")
                return pathfinder.generate(n, resolution, difficulty, _split_seed(seed, split),
                                           verbose=True)

            def read(p):
                data = pathfinder.load_npz(p)
                return data, len(data[1])

            images, labels = cached(path, n, generate,
                                    lambda data, p: pathfinder.save_npz(p, *data), read)
        needed = resolution * resolution + 1
        if max_length == needed and not add_cls:
            max_length -= 1
        shuffle = split.startswith("train") if shuffle is None else shuffle
        return pathfinder.make_dataset(images, labels, batch_size, max_length, add_cls=add_cls,
                                       shuffle=shuffle, seed=seed, **common)

    return load


def _mock_retrieval_dir(num_rows, seed=0):
    """Write small random release-format files; return their directory."""
    from keras_fnet.data import retrieval

    rng = np.random.default_rng(seed)
    directory = tempfile.mkdtemp(prefix="keras_fnet_mock_retrieval_")
    words = np.array(["paper", "cite", "model", "graph", "neural", "text"])
    for split_file in retrieval.SPLIT_FILES.values():
        with open(os.path.join(directory, split_file), "w") as f:
            for i in range(num_rows):
                t1 = " ".join(rng.choice(words, rng.integers(5, 60)))
                t2 = " ".join(rng.choice(words, rng.integers(5, 60)))
                f.write(f"{i % 2}.0\tid{i}a\tid{i}b\t{t1}\t{t2}\n")
    return directory


def _load_retrieval(split, batch_size, max_length, data_dir=None, mock=False, mock_examples=64,
                    manual_dir=None, stats=None, seed=0, shuffle=None, **common):
    from keras_fnet.data import retrieval

    base.check_split("retrieval", split, tuple(retrieval.SPLIT_FILES))
    if mock:
        manual_dir = _mock_retrieval_dir(mock_examples, seed)
    shuffle = split.startswith("train") if shuffle is None else shuffle
    return retrieval.retrieval(split, batch_size, max_length, manual_dir=manual_dir,
                               data_dir=data_dir, stats=stats, shuffle=shuffle, seed=seed,
                               **common)


register(Task(
    "listops", fixed_info("listops", 10, 20, SPLITS, 2048), _load_listops,
    max_length=256, min_length=16, train_examples=20000,
    options=("num_examples", "min_length", "generation_max_length", "keep_parentheses")))
for _resolution, _aliases in ((32, ("pathfinder32",)), (64, ()), (128, ())):
    _name = "pathfinder" if _resolution == 32 else f"pathfinder{_resolution}"
    _length = _resolution * _resolution + 1
    register(Task(
        _name, fixed_info(_name, 2, base.BYTE_VOCABULARY_SIZE, SPLITS, _length),
        _pathfinder_loader(_resolution), min_length=_length, train_examples=160000,
        options=("num_examples", "difficulty", "add_cls")), aliases=_aliases)
register(Task(
    "retrieval", fixed_info("retrieval", 2, base.BYTE_VOCABULARY_SIZE, SPLITS, 8192),
    _load_retrieval, max_length=1024, min_length=8, options=("manual_dir", "stats"),
    data_help="Download the LRA release (lra_release.gz from "
    "github.com/google-research/long-range-arena), and put "
    "lra_release/tsv_data/new_aan_pairs.{train,eval,test}.tsv in DIR/lra_retrieval; "
    "pass --data-dir DIR."))
