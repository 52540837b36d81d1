"""Configuration: defaults, TOML round trip, precedence, and errors that name the key."""

from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntext.config import SECTIONS, Config, ConfigError, merge, read_toml, resolve, to_toml

ALL_KEYS = {f.name: (section, f) for section, cls in SECTIONS.items() for f in fields(cls)}


def test_every_field_has_help_and_toml_round_trips(tmp_path):
    assert all(f.metadata.get("help") for _, f in ALL_KEYS.values())
    path = tmp_path / "c.toml"
    path.write_text(to_toml(Config()))
    assert merge(Config(), read_toml(path)) == Config()


def test_precedence(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlr = 0.5\nseq_len = 7\n")
    cfg = resolve("caffe-lstm", path, {"seq_len": 9})
    assert cfg.train.batch_size == 250 and cfg.train.lr == 0.5 and cfg.train.seq_len == 9


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20).filter(lambda k: k not in ALL_KEYS))
def test_unknown_keys_are_named(key):
    with pytest.raises(ConfigError, match=key):
        resolve(overrides={key: 1})
    with pytest.raises(ConfigError, match=key):
        merge(Config(), {"train": {key: 1}})


WRONG = st.one_of(st.lists(st.integers(), min_size=2, max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                                    min_size=1, max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(ALL_KEYS)), st.one_of(WRONG, st.text(alphabet="xyz!", min_size=1, max_size=5)))
def test_wrong_types_are_named(key, value):
    section, f = ALL_KEYS[key]
    default = f.default
    if isinstance(default, str) and isinstance(value, str):
        return  # any string is a string; choices are checked below
    if isinstance(default, tuple) and isinstance(value, list):
        return  # a list of numbers is a valid sequence option (hidden_size, sample_temperatures)
    if isinstance(default, tuple) and isinstance(value, str) and default == ():
        return  # a tuple of strings (labels) accepts strings
    with pytest.raises(ConfigError, match=key):
        merge(Config(), {section: {key: value}})


@pytest.mark.parametrize("key,value", [("cell", "transformer"), ("optimizer", "lion"), ("level", "sentence"),
                                       ("lr_schedule", "warmup"), ("device", "tpu"), ("batching", "random")])
def test_choices_are_named(key, value):
    with pytest.raises(ConfigError, match=key):
        resolve(overrides={key: value})


@pytest.mark.parametrize("overrides,key", [({"tie_weights": True, "embed_size": 32, "hidden_size": (64,)}, "tie_weights"),
                                           ({"tie_weights": True, "embed_size": 0}, "tie_weights"),
                                           ({"val_frac": 0.6, "test_frac": 0.5}, "val_frac"),
                                           ({"nesterov": True, "optimizer": "adam"}, "nesterov"),
                                           ({"stride": 3}, "stride"),
                                           ({"hidden_size": "8,8", "num_layers": 3}, "hidden_size")])
def test_contradictions_are_named(overrides, key):
    with pytest.raises(ConfigError, match=key):
        resolve(overrides=overrides)


def test_a_level_starts_from_its_recipe_under_every_layer(tmp_path):
    from rnntext.config import read_preset, resolve
    from rnntext.text import levels

    word = read_preset(levels.recipe("word"))
    cfg = resolve(overrides={"level": "word"})
    assert (cfg.model.tie_weights, cfg.train.seq_len, cfg.train.lr) == (True, word["train"]["seq_len"],
                                                                       word["train"]["lr"])
    assert resolve().model.tie_weights is False and resolve().train.seq_len == 50  # characters: the defaults
    assert resolve(overrides={"level": "word", "seq_len": 70}).train.seq_len == 70  # flags still win
    own = resolve(overrides={"level": "word", "hidden_size": (32,), "embed_size": 16})
    assert own.model.tie_weights is False  # the user's unequal sizes: nothing tied behind their back
    path = tmp_path / "w.toml"
    path.write_text('[data]\nlevel = "word"\n')
    assert resolve(config_file=path).model.locked_dropout is True  # the level may come from any layer
