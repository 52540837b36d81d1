"""A labelled (--condition-by) run on every way out: ONNX takes the label as an input, serve says
what it serves, and a fine-tuned run's record never contradicts its vocabulary."""

import json

import numpy as np
import pytest

from rnntext import api
from rnntext.cli import main
from rnntext.model.saved import read_info

TINY = {"num_layers": 1, "hidden_size": (8,), "embed_size": 4, "seq_len": 8, "batch_size": 2, "sample_every": 0,
        "quiet": True, "threads": 1, "eval_every": 0}


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    folder = root / "texts"
    folder.mkdir()
    (folder / "lower.txt").write_text("the quick brown fox jumps over the lazy dog\n" * 20)
    (folder / "upper.txt").write_text("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG\n" * 20)
    api.train(folder, root / "run", condition_by="file", max_iters=3, **TINY)
    return root / "run"


def test_onnx_of_a_labelled_model_takes_the_label_as_an_input(labelled, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    out = tmp_path / "m.onnx"
    assert main(["export", "onnx", str(labelled), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "inputs ids, label, h_l0, c_l0" in said and "verified with onnxruntime" in said
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["labels"]) == ["lower", "upper"]
    model = api.load(labelled)
    ids = model.encode("THE QUICK")[0]
    for label in ("lower", "upper"):  # the ONNX steps equal the NumPy runtime's prime, label by label
        state = {"h_l0": np.zeros((1, 8), np.float32), "c_l0": np.zeros((1, 8), np.float32)}
        for i in ids:
            logits, h, c = session.run(None, {"ids": np.array([i]), "label": np.array([["lower", "upper"].index(label)]),
                                              **state})
            state = {"h_l0": h, "c_l0": c}
        want = model.streams(1, condition=label).prime(ids)
        assert np.abs(logits - want).max() < 1e-4


def test_serve_of_a_labelled_model_says_what_it_serves(labelled, capsys):
    pytest.importorskip("fastapi")
    assert main(["serve", str(labelled), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "was trained with labels (lower, upper" in err
    assert "rnntext serve serves runs trained without labels" in err and "rnntext sample RUN --condition" in err
    assert "pass --condition" not in err


def test_a_fine_tuned_max_vocab_holds_of_its_vocabulary(tmp_path, capsys):
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("the quick brown fox jumps over the lazy dog .\n" * 20)
    new.write_text("zebras vex the jumping wizard ; xyz quickly quickly .\n" * 20)
    api.train(old, tmp_path / "w1", level="word", max_iters=2, **TINY)
    parent = len(read_info(tmp_path / "w1").vocab)
    code = main(["train", str(new), "-o", str(tmp_path / "w2"), "--init-from", str(tmp_path / "w1"), "--max-vocab",
                 str(parent - 1), "--max-iters", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and f"has {parent} tokens, which a fine-tuned run keeps" in err and "--max-vocab" in err
    assert not (tmp_path / "w2").exists()
    api.train(new, tmp_path / "w3", init_from=str(tmp_path / "w1"), max_vocab=parent + 2, max_iters=1, quiet=True,
              sample_every=0, threads=1, eval_every=0, seq_len=8, batch_size=2)
    info = read_info(tmp_path / "w3")
    recorded = api.load(tmp_path / "w3")  # what config.toml says, and what the vocabulary holds
    assert len(info.vocab) == parent + 2 <= recorded.info.data["max_vocab"] == parent + 2
    assert info.vocab.tokens[parent:] == ("quickly", ";")  # the most frequent new words; the rest are <unk>
