"""TFDS dataset builders for the generated LRA tasks (no download).

Importing this module registers two builders:

* `lra_listops` (configs `basic` = LRA sizes and lengths 500..2000, `small` =
  10k/1k/1k examples of length 100..511 for a quick run),
* `lra_pathfinder` (configs `pathfinder32_easy`, `pathfinder32_hard`,
  `pathfinder64_intermediate`, `pathfinder128_hard`, ...).

The data is generated locally by `listops.generate` / `pathfinder.generate`
with a fixed seed per split, so `tfds.load` works offline:

>>> import tensorflow_datasets as tfds
>>> import keras_fnet.data.tfds_builders  # registers the builders
>>> ds = tfds.load("lra_listops/small", split="test")  # doctest: +SKIP

Features: ListOps `{"source": Text, "target": ClassLabel(10)}`; Pathfinder
`{"image": Image(R, R, 1), "label": ClassLabel(2)}`.

This module imports tensorflow-datasets (data edge).
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from keras_fnet.data import listops, pathfinder

_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}


class _GeneratedSplits:
    """Train/validation/test generated locally from the builder config's sizes."""

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        c = self.builder_config
        sizes = {"train": c.num_train, "validation": c.num_validation, "test": c.num_test}
        return {split: self._generate_examples(split, n) for split, n in sizes.items()}


@dataclasses.dataclass
class ListOpsConfig(tfds.core.BuilderConfig):
    """ListOps generation parameters (lengths inclusive)."""

    num_train: int = 96000
    num_validation: int = 2000
    num_test: int = 2000
    min_length: int = 500
    max_length: int = 2000
    seed: int = 0


class LraListops(_GeneratedSplits, tfds.core.GeneratorBasedBuilder):
    """ListOps from the Long Range Arena, generated locally."""

    name = "lra_listops"
    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [
        ListOpsConfig(name="basic", description="LRA sizes, length 500..2000"),
        ListOpsConfig(name="small", description="10k/1k/1k, length 100..511",
                      num_train=10000, num_validation=1000, num_test=1000,
                      min_length=100, max_length=511),
    ]

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "source": tfds.features.Text(),
                "target": tfds.features.ClassLabel(num_classes=10),
            }),
            supervised_keys=("source", "target"),
            homepage="https://github.com/google-research/long-range-arena",
        )

    def _generate_examples(self, split, num):
        c = self.builder_config
        rows = listops.generate(num, c.min_length, c.max_length,
                                seed=c.seed * 10 + _SPLIT_SEEDS[split])
        for i, (source, target) in enumerate(rows):
            yield i, {"source": source, "target": target}


@dataclasses.dataclass
class PathfinderConfig(tfds.core.BuilderConfig):
    """Pathfinder generation parameters."""

    resolution: int = 32
    difficulty: str = "easy"
    num_train: int = 160000
    num_validation: int = 20000
    num_test: int = 20000
    seed: int = 0


def _pathfinder_configs():
    configs = []
    for r in pathfinder.RESOLUTIONS:
        for d in pathfinder.DIFFICULTIES:
            configs.append(PathfinderConfig(
                name=f"pathfinder{r}_{d}", resolution=r, difficulty=d,
                description=f"{r}x{r} images, {d} difficulty",
            ))
    return configs


class LraPathfinder(_GeneratedSplits, tfds.core.GeneratorBasedBuilder):
    """Pathfinder images (connected / not connected), generated locally."""

    name = "lra_pathfinder"
    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = _pathfinder_configs()

    def _info(self):
        r = self.builder_config.resolution
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(r, r, 1)),
                "label": tfds.features.ClassLabel(num_classes=2),
            }),
            supervised_keys=("image", "label"),
        )

    def _generate_examples(self, split, num):
        c = self.builder_config
        images, labels = pathfinder.generate(
            num, c.resolution, c.difficulty,
            seed=c.seed * 10 + _SPLIT_SEEDS[split],
        )
        for i in range(num):
            yield i, {"image": images[i][..., None].astype(np.uint8),
                      "label": int(labels[i])}
