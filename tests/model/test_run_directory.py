"""The run directory package: checkpoints, metrics, recorded configuration, and what the API
derives from the parameter schema."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from rnntext import config as config_mod
from rnntext.api import Model
from rnntext.config import Config, ModelConfig
from rnntext.data.batches import TextBatches
from rnntext.model import checkpoint, claim, layout, parameters, records, saved
from rnntext.text import levels


def _info(run: Path, **model) -> saved.RunInfo:
    vocab = levels.get("char").vocab_of("abcdefghij")
    return saved.RunInfo(run, ModelConfig(**model), vocab, {}, {})


def test_save_writes_every_checkpoint_file_and_keeps_the_last(tmp_path):
    info = _info(tmp_path, hidden_size=(4,), num_layers=1, embed_size=3)
    weights = {k: np.full(s, 0.5, np.float32) for k, s in parameters.param_shapes(info.model, 10).items()}
    for it in (1, 2, 3):
        state = {"iteration": it, "note": "x"}
        checkpoint.save(tmp_path, info, weights, {"model.w": np.arange(3.0) + it}, state, keep_last=2)
    tensors, state = checkpoint.read_checkpoint(tmp_path)
    assert state == {"iteration": 3, "note": "x"} and tensors["model.w"].tolist() == [3.0, 4.0, 5.0]
    assert json.loads((tmp_path / layout.TRAINER_JSON).read_text()) == state
    assert sorted(p.name for p in (tmp_path / layout.CHECKPOINTS).iterdir()) == [layout.numbered(2), layout.numbered(3)]
    loaded = saved.read_weights(saved.read_info(tmp_path))
    assert {k: v.tolist() for k, v in loaded.items()} == {k: v.tolist() for k, v in weights.items()}
    assert layout.has_checkpoint(tmp_path) and checkpoint.checkpoint_state(tmp_path)["iteration"] == 3


def test_metrics_append_and_tolerant_read(tmp_path, caplog):
    for it in (1, 2, 3):
        records.append_metrics(tmp_path, {"iter": it, "train_loss": 1.0 / it})
    with open(tmp_path / layout.METRICS, "a") as f:
        f.write('[1, 2]\n{"iter": "x"}\n{"iter": 4, "train_lo')  # damaged, odd, and a torn last line
    with caplog.at_level(logging.WARNING):
        lines = records.read_metrics(tmp_path)
    assert [r["iter"] for r in lines] == [1, 2, 3, "x"] and "skipping 2 unreadable" in caplog.text
    records.truncate_metrics(tmp_path, 2)
    assert [r["iter"] for r in records.read_metrics(tmp_path)] == [1, 2]
    assert records.read_metrics(tmp_path / "nowhere") == []


def test_recorded_config_prefers_checkpoint_then_record_then_config_toml(tmp_path):
    assert records.recorded_config(tmp_path) == {}
    records.write_config(tmp_path, config_mod.merge(Config(), {"train": {"lr": 0.5}}))
    assert records.recorded_config(tmp_path)["train"]["lr"] == 0.5
    taken = claim.plan_claim(tmp_path, resume=False, force=True, inputs=[], writes={layout.METRICS},
                             record=claim.manifest_record(["in.txt"], {"train": {"lr": 0.25}}))
    taken.apply()
    assert records.recorded_config(tmp_path) == {"train": {"lr": 0.25}}
    assert records.recorded_config(tmp_path, {"config": {"train": {"lr": 0.125}}}) == {"train": {"lr": 0.125}}


def test_resolve_on_a_base_skips_the_level_recipe():
    base = config_mod.merge(Config(), {"data": {"level": "word"}, "train": {"lr": 0.5, "seq_len": 7}})
    cfg = config_mod.resolve(None, None, {"seq_len": 9}, base=base)
    assert (cfg.data.level, cfg.train.lr, cfg.train.seq_len) == ("word", 0.5, 9)
    assert config_mod.resolve(None, None, {"level": "word"}).train.lr != 0.5


def test_sample_defaults_ignore_an_invalid_section(tmp_path, caplog):
    (tmp_path / layout.CONFIG).write_text("[sample]\ntemperature = 0.5\n")
    assert records.sample_defaults(tmp_path) == {"temperature": 0.5}
    (tmp_path / layout.CONFIG).write_text("[sample]\ntemprature = 0.5\n")
    with caplog.at_level(logging.WARNING):
        assert records.sample_defaults(tmp_path) == {}
    assert "ignoring the [sample] section" in caplog.text


def test_summary_counts_come_from_the_schema(tmp_path):
    info = _info(tmp_path, cell="lstm", hidden_size=(6, 4), num_layers=2, embed_size=4, tie_weights=True,
                 dropout=0.0)
    summary = Model(info, {}).summary()
    assert summary["layers"] == [("embedding", "(B, T, 4)", 40),
                                 ("lstm_0", "(B, T, 6)", 24 * 4 + 24 * 6 + 2 * 24),
                                 ("lstm_1", "(B, T, 4)", 16 * 6 + 16 * 4 + 2 * 16),
                                 ("output (tied to embedding)", "(B, T, 10)", 10)]
    assert summary["total_parameters"] == parameters.count_parameters(info.model, 10) == 40 + 288 + 192 + 10


def test_text_batches_cover_the_text_once():
    ids = np.arange(11)
    batches = TextBatches(ids, 4, label=2)
    xs, ys = zip(*[batches.batch(i)[:2] for i in range(len(batches))])
    assert len(batches) == 3 and np.concatenate(xs, axis=1).tolist() == [list(range(10))]
    assert np.concatenate(ys, axis=1).tolist() == [list(range(1, 11))]
    assert batches.batch(2)[3].tolist() == [[2, 2]]


@pytest.mark.parametrize("which", ["latest", "best"])
def test_weights_names(tmp_path, which):
    info = _info(tmp_path, hidden_size=(4,), num_layers=1, embed_size=3)
    weights = {k: np.zeros(s, np.float32) for k, s in parameters.param_shapes(info.model, 10).items()}
    saved.write_model(tmp_path, info, weights, which)
    assert (tmp_path / layout.WEIGHTS[which]).is_file() and (tmp_path / layout.MODEL_JSON).is_file()
    assert saved.read_weights(saved.read_info(tmp_path), which).keys() == weights.keys()
