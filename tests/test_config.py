"""Configs as data: the preset table, overrides and validation."""

import pytest

import keras_fnet
from keras_fnet.config import EncoderConfig, get_config


def test_every_family_has_every_size():
    # The paper's baselines and sizes are among the registry's; any family added has every size.
    paper = {"fnet", "bert", "linear", "random", "ff_only", "fnet_hybrid"}
    assert paper <= set(keras_fnet.FAMILIES)
    assert set(keras_fnet.SIZES) == {"tiny", "mini", "small", "base", "large"}
    assert len(keras_fnet.PRESETS) == len(keras_fnet.FAMILIES) * len(keras_fnet.SIZES)
    for family, fields in keras_fnet.FAMILIES.items():
        assert fields["mixing"] in keras_fnet.layers.MIXINGS, family
        for size in keras_fnet.SIZES:
            assert keras_fnet.PRESETS[f"{family}_{size}"].mixing == fields["mixing"]


def test_base_and_large_are_the_papers():
    base, large = get_config("fnet_base"), get_config("bert_large")
    assert (base.num_layers, base.hidden_dim, base.intermediate_dim) == (12, 768, 3072)
    assert (large.num_layers, large.hidden_dim, large.intermediate_dim) == (24, 1024, 4096)
    for config in (base, large):
        shape = (config.vocabulary_size, config.max_sequence_length, config.num_segments)
        assert shape == (32000, 512, 4)


def test_families_differ_only_in_mixing():
    # BERT's embeddings also have no projection to the hidden size (FNet's do).
    bert, fnet = get_config("bert_base").to_dict(), get_config("fnet_base").to_dict()
    assert {k for k in bert if bert[k] != fnet[k]} == {"mixing", "embedding_projection"}


def test_hybrid_puts_attention_in_the_top_two_layers_at_any_depth():
    for num_layers in (2, 4, 12):
        config = get_config("fnet_hybrid_base", num_layers=num_layers)
        layers = [config.layer_mixing(i) for i in range(num_layers)]
        assert layers == ["fourier"] * (num_layers - 2) + ["attention"] * 2


def test_overrides():
    config = get_config("fnet_base", num_layers=4, hidden_dim=256)
    assert (config.num_layers, config.hidden_dim, config.mixing) == (4, 256, "fourier")
    assert get_config(config.to_dict()) == config
    assert get_config(config, dropout=0.0).dropout == 0.0


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match="Unknown preset 'fnet_huge'. Valid presets: fnet_tiny"):
        get_config("fnet_huge")


def test_unknown_mixing_lists_valid_ones():
    with pytest.raises(ValueError, match="Unknown mixing 'wavelet'. Valid names: fourier"):
        EncoderConfig(mixing="wavelet")


def test_unknown_field_lists_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown config field\(s\) \['num_layer'\]"):
        get_config("fnet_tiny", num_layer=3)


def test_heads_must_divide_hidden_when_heads_are_used():
    with pytest.raises(ValueError,
                       match=r"`hidden_dim` \(100\) must be divisible by `num_heads` \(3\)"):
        get_config("bert_tiny", hidden_dim=100, num_heads=3)
    with pytest.raises(ValueError, match="with attention layers"):
        get_config("fnet_hybrid_tiny", hidden_dim=100, num_heads=3)
    # FNet has no heads, so any width works.
    assert get_config("fnet_tiny", hidden_dim=100, num_heads=3).hidden_dim == 100


@pytest.mark.parametrize(
    "field, value",
    [("num_layers", 0), ("hidden_dim", 2.5), ("dropout", 1.0), ("attention_layers", (5,)),
     ("fourier_implementation", "matmul"), ("attention_implementation", "flash")],
)
def test_bad_values_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        get_config("fnet_tiny", **{field: value})
