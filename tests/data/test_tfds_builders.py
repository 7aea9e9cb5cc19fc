"""The generated LRA tasks load through tfds.load with no download."""

import numpy as np
import tensorflow_datasets as tfds

from keras_fnet.data import listops, tfds_builders


def test_listops_builder(tmp_path):
    config = tfds_builders.ListOpsConfig(
        name="tiny", num_train=12, num_validation=3, num_test=3,
        min_length=10, max_length=40)
    builder = tfds_builders.LraListops(config=config, data_dir=str(tmp_path))
    builder.download_and_prepare()
    examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert len(examples) == 12
    for ex in examples:
        assert listops.evaluate(ex["source"].decode()) == ex["target"]
    named = tfds.builder("lra_listops/small", data_dir=str(tmp_path))
    assert named.builder_config.max_length == 511


def test_pathfinder_builder(tmp_path):
    config = tfds_builders.PathfinderConfig(
        name="tiny32", resolution=32, num_train=4, num_validation=2,
        num_test=2)
    builder = tfds_builders.LraPathfinder(config=config,
                                          data_dir=str(tmp_path))
    builder.download_and_prepare()
    examples = list(tfds.as_numpy(builder.as_dataset(split="test")))
    assert len(examples) == 2
    assert examples[0]["image"].shape == (32, 32, 1)
    assert examples[0]["image"].dtype == np.uint8
    named = tfds.builder("lra_pathfinder/pathfinder128_hard",
                         data_dir=str(tmp_path))
    assert named.info.features["image"].shape == (128, 128, 1)
