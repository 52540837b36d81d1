"""Fine-tuning (`train NEW -o RUN2 --init-from RUN1`): the parent's rows kept exactly, new tokens
get new rows, the architecture and token options come from the parent, the run records it,
and a fine-tuned run resumes (without its parent)."""

import json
import shutil

import numpy as np
import pytest

from rnntext import api
from rnntext.cli import main
from rnntext.errors import ConfigError, RunError
from rnntext.model.layout import data_path
from rnntext.model.parameters import init_params
from rnntext.model.saved import digest, read_info, read_weights
from rnntext.training import finetune
from rnntext.training.trainer import Trainer

TINY = {"num_layers": 1, "hidden_size": (8,), "embed_size": 4, "seq_len": 8, "batch_size": 2, "sample_every": 0,
        "quiet": True, "threads": 1, "eval_every": 0}
OLD = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 40
NEW = "Zebras quickly vexed the jumping wizard; XYZ!\n" * 40  # Z, X, Y, ;, capitals: symbols OLD lacks


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("texts")
    (folder / "old.txt").write_text(OLD, encoding="utf-8")
    (folder / "new.txt").write_text(NEW, encoding="utf-8")
    return folder


def parent_run(path, texts, **options):
    api.train(texts / "old.txt", path, max_iters=3, engine="numpy", **{**TINY, **options})
    return path


class Started(Exception):
    """Raised instead of training: the test has what it wanted."""


def starting_weights(monkeypatch, *args, **options) -> dict:
    """The weights a run starts training from (Trainer.fit is stopped before its first step)."""
    seen = {}

    def fit(self):
        seen.update(self.engine.weights())
        raise Started

    monkeypatch.setattr(Trainer, "fit", fit)
    with pytest.raises(Started):
        api.train(*args, **options)
    return seen


@pytest.mark.parametrize("engine", ["numpy", "torch"])
@pytest.mark.parametrize("shape", [{}, {"embed_size": 0}, {"embed_size": 8, "tie_weights": True}])
def test_known_rows_are_kept_and_new_tokens_get_fresh_rows(tmp_path, texts, monkeypatch, engine, shape):
    parent = parent_run(tmp_path / "r1", texts, **shape)
    old = read_weights(read_info(parent))
    old_vocab = read_info(parent).vocab
    start = starting_weights(monkeypatch, texts / "new.txt", tmp_path / "r2", init_from=str(parent), engine=engine,
                             max_iters=2, **{k: v for k, v in TINY.items() if k not in ("embed_size",)})
    from rnntext.data.dataset import open_dataset

    with open_dataset(data_path(tmp_path / "r2")) as data:
        vocab = data.vocab
    V0, V = len(old_vocab), len(vocab)
    assert vocab.tokens[:V0] == old_vocab.tokens  # the parent's ids are kept; new symbols appended
    assert set(vocab.tokens[V0:]) == set(NEW) - set(OLD)
    assert set(start) == set(old)
    cfg = read_info(parent).model
    fresh = init_params(cfg, V, np.random.Generator(np.random.PCG64(1234)))  # the train seed's draw
    for name, before in old.items():
        after = start[name]
        if after.shape == before.shape:
            np.testing.assert_array_equal(after, before, err_msg=name)
            continue
        axis = next(a for a, (n, m) in enumerate(zip(before.shape, after.shape)) if n != m)
        known = np.r_[0:V0, V:V + before.shape[axis] - V0]  # token rows, then any label columns
        new = np.arange(V0, V)
        np.testing.assert_array_equal(np.take(after, known, axis), before, err_msg=name)
        np.testing.assert_array_equal(np.take(after, new, axis), np.take(fresh[name], new, axis), err_msg=name)
        assert np.abs(np.take(after, new, axis)).sum() > 0
    grown_names = {n for n in old if start[n].shape != old[n].shape}
    expected = {"output.bias"} | ({"embedding.weight"} if shape.get("embed_size", 4) else {"rnn.weight_ih_l0"}) | (
        set() if shape.get("tie_weights") else {"output.weight"})
    assert grown_names == expected


def test_label_columns_move_behind_the_new_tokens():
    """One-hot input with labels: columns are [tokens, labels]; a new token goes between."""
    rng = np.random.default_rng(0)
    from rnntext.config import ModelConfig

    cfg = ModelConfig(num_layers=1, hidden_size=(3,), embed_size=0, labels=("a", "b"))
    old = init_params(cfg, 5, rng)
    new = finetune.grown(old, 5, cfg, 7, seed=1)
    w_old, w_new = old["rnn.weight_ih_l0"], new["rnn.weight_ih_l0"]
    assert w_new.shape == (12, 9)
    np.testing.assert_array_equal(w_new[:, :5], w_old[:, :5])
    np.testing.assert_array_equal(w_new[:, 7:], w_old[:, 5:])  # the label columns
    np.testing.assert_array_equal(new["output.bias"][:5], old["output.bias"])


def test_model_json_records_the_parent_and_resume_needs_no_parent(tmp_path, texts):
    parent = parent_run(tmp_path / "r1", texts)
    api.train(texts / "new.txt", tmp_path / "r2", init_from=str(parent), init_weights="best", max_iters=2,
              engine="numpy", **{**TINY, "eval_every": 1})
    record = json.loads((tmp_path / "r2" / "model.json").read_text())["training"]["init_from"]
    info = read_info(parent)
    assert record["run"] == str(parent.resolve()) and record["weights"] == "best"
    assert record["model_sha256"] == info.digest and record["iterations"] == 3
    assert record["weights_sha256"] == digest(read_weights(info, "best"))
    assert record["vocab_size"] == len(info.vocab)
    model = read_info(tmp_path / "r2").model
    assert (model.cell, model.hidden_size, model.embed_size) == (info.model.cell, (8,), 4)
    with pytest.raises(ConfigError, match="init_from"):
        api.train(None, tmp_path / "r2", resume=True, max_iters=4, init_from=str(tmp_path / "other"))
    shutil.rmtree(parent)  # a resume reads its own checkpoint and data, never the parent
    result = api.train(None, tmp_path / "r2", resume=True, max_iters=4)
    assert result.iterations == 4
    assert json.loads((tmp_path / "r2" / "model.json").read_text())["training"]["init_from"] == record


def test_a_dataset_input_is_moved_into_the_extended_vocabulary(tmp_path, texts):
    parent = parent_run(tmp_path / "r1", texts)
    api.prepare(texts / "new.txt", tmp_path / "new.h5")
    api.train(tmp_path / "new.h5", tmp_path / "r2", init_from=str(parent), max_iters=2, engine="torch", **TINY)
    own = read_info(tmp_path / "r2")
    from rnntext.data.dataset import open_dataset

    with open_dataset(tmp_path / "new.h5") as given, open_dataset(data_path(tmp_path / "r2")) as moved:
        assert moved.vocab == own.vocab
        for split in ("train", "val"):
            assert moved.vocab.decode(moved.split(split)[:]) == given.vocab.decode(given.split(split)[:])
    assert own.vocab.tokens[:len(read_info(parent).vocab)] == read_info(parent).vocab.tokens


def test_contradicting_options_are_refused_equal_ones_are_fine(tmp_path, texts, capsys):
    parent = parent_run(tmp_path / "r1", texts)
    common = ["--init-from", parent, "--max-iters", "1", "--quiet", "--seq-len", "8", "--batch-size", "2"]
    for flags, named in ((["--hidden-size", "16"], "--hidden-size"), (["--cell", "gru"], "--cell"),
                         (["--num-layers", "2"], "--num-layers"), (["--embed-size", "0"], "--embed-size"),
                         (["--level", "byte"], "--level"), (["--lowercase"], "--lowercase")):
        code = main(["train", str(texts / "new.txt"), "-o", str(tmp_path / "r2"), *map(str, common), *flags])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and named in err and "init_from" in err, err
        assert not (tmp_path / "r2").exists()
    code = main(["train", str(texts / "new.txt"), "-o", str(tmp_path / "r2"), *map(str, common),
                 "--hidden-size", "8", "--num-layers", "1", "--cell", "lstm", "--embed-size", "4", "--dropout", "0"])
    assert code == 0, capsys.readouterr().err
    assert read_info(tmp_path / "r2").model.dropout == 0


def test_a_missing_parent_or_a_dataset_of_other_options_is_one_line(tmp_path, texts, capsys):
    for where in (tmp_path / "nothing", texts):
        code = main(["train", str(texts / "new.txt"), "-o", str(tmp_path / "r2"), "--init-from", str(where)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("rnntext train: error: init_from:"), err
    with pytest.raises(RunError, match="init_from"):
        finetune.read_parent(str(tmp_path / "nothing"), "latest")
    parent = parent_run(tmp_path / "r1", texts)
    api.prepare(texts / "new.txt", tmp_path / "lower.h5", lowercase=True)
    with pytest.raises(ConfigError, match="lowercase"):
        api.train(tmp_path / "lower.h5", tmp_path / "r3", init_from=str(parent), max_iters=1, **TINY)
    assert not (tmp_path / "r3").exists()
    (parent / "best.safetensors").rename(tmp_path / "kept.safetensors")
    with pytest.raises(RunError, match='init_weights="latest"'):
        api.train(texts / "new.txt", tmp_path / "r3", init_from=str(parent), init_weights="best", **TINY)
    with pytest.raises(ConfigError, match="another output"):
        api.train(texts / "new.txt", parent, init_from=str(parent), force=True, max_iters=1, **TINY)
    assert read_weights(read_info(parent))  # the parent is intact


def test_word_level_appends_the_new_words(tmp_path, texts):
    api.train(texts / "old.txt", tmp_path / "w1", level="word", max_iters=2, engine="torch",
              **{**TINY, "hidden_size": (4,), "tie_weights": True})
    api.train(texts / "new.txt", tmp_path / "w2", init_from=str(tmp_path / "w1"), max_iters=1, engine="torch",
              **{k: v for k, v in TINY.items() if k not in ("hidden_size", "embed_size")})
    old, new = read_info(tmp_path / "w1").vocab, read_info(tmp_path / "w2").vocab
    assert new.tokens[:len(old)] == old.tokens
    assert set(new.tokens[len(old):]) == {"Zebras", "quickly", "vexed", "jumping", "wizard", ";", "XYZ"}
    assert read_info(tmp_path / "w2").model.tie_weights


def test_bpe_keeps_its_vocabulary(tmp_path, texts):
    pytest.importorskip("tokenizers")
    api.train(texts / "old.txt", tmp_path / "b1", level="bpe", vocab_size=280, max_iters=2, engine="numpy", **TINY)
    api.train(texts / "new.txt", tmp_path / "b2", init_from=str(tmp_path / "b1"), max_iters=1, engine="numpy", **TINY)
    assert read_info(tmp_path / "b2").vocab == read_info(tmp_path / "b1").vocab
    model = api.load(tmp_path / "b2")
    assert model.decode(model.encode(NEW)[0]) == NEW  # the parent's merges encode the new text exactly


def test_a_text_in_another_encoding_is_read_with_it(tmp_path, texts):
    parent = parent_run(tmp_path / "r1", texts)
    (tmp_path / "new16.txt").write_text(NEW, encoding="utf-16")  # NUL bytes: binary unless read as UTF-16
    api.train(tmp_path / "new16.txt", tmp_path / "r2", init_from=str(parent), encoding="utf-16", max_iters=1,
              **{k: v for k, v in TINY.items() if k not in ("num_layers", "hidden_size", "embed_size")})
    model = api.load(tmp_path / "r2")
    assert model.decode(model.encode(NEW)[0]) == NEW and "Z" in model.vocab.tokens
