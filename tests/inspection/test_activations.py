"""Model.activations: every registered cell's exposed arrays, the same from the NumPy engine and from
torch (1e-5, float32), consistent with the cell's equations and with the model's predictions."""

import importlib.util
import re

import numpy as np
import pytest

from rnntext import api, cells
from rnntext.config import ModelConfig
from rnntext.errors import RnntextError
from rnntext.inspection import recording
from rnntext.model.parameters import init_params

TEXT = 'f(x) = "a [b] c"\nif (y): z = [1, (2)]\n' * 3


@pytest.mark.parametrize("cell", cells.names())
def test_numpy_and_torch_compute_the_same_arrays(run_of, cell):
    pytest.importorskip("torch")
    model = api.load(run_of(cell))
    a = model.activations(TEXT, engine="numpy")
    b = model.activations(TEXT, engine="torch")
    exposed = cells.get(cell).exposes
    assert a.names == b.names == [f"layer{k}.{e}" for k in (0, 1) for e in exposed]
    assert list(exposed)[0] == "h" and set(cells.get(cell).fractions) <= set(exposed)
    for name in a.names:
        H = 6 if name.startswith("layer0") else 5
        assert a[name].shape == b[name].shape == (len(TEXT), H) and a[name].dtype == np.float32
        assert np.abs(a[name] - b[name]).max() < 1e-5, name
        assert a[name].std() > 0.02, f"{name} barely moves: a weak test"
    np.testing.assert_allclose(a.top_probs, b.top_probs, atol=1e-5)
    np.testing.assert_allclose(a.next_prob[:-1], b.next_prob[:-1], atol=1e-5)
    assert (a.ids == b.ids).all() and "".join(a.pieces) == TEXT and np.isnan(a.next_prob[-1])
    for name in (n for n in a.names if n.split(".")[1] in cells.get(cell).fractions):
        assert 0 <= a[name].min() and a[name].max() <= 1  # a gate lies in (0, 1)


@pytest.mark.parametrize("cell", cells.names())
def test_the_predictions_are_the_models_own(run_of, cell):
    """The torch side steps the gates itself: its next-token probabilities must still be those of
    the fused kernels the model trains with, and the NumPy runtime's that sampling uses."""
    torch = pytest.importorskip("torch")
    from rnntext.engines.torch.module import RNNLM

    model = api.load(run_of(cell))
    acts = model.activations(TEXT, engine="torch")
    net = RNNLM.trained(model.info.model, len(model.vocab), model.weights)
    logits = net(torch.from_numpy(acts.ids)[None])[0][0].double()
    probs = torch.softmax(logits, -1).numpy()
    np.testing.assert_allclose(acts.next_prob[:-1], probs[np.arange(len(TEXT) - 1), acts.ids[1:]], atol=1e-5)
    top = dict(model.next_tokens(TEXT[:20], 5))
    assert [model.vocab.tokens[i] for i in acts.top_ids[19]] == list(top)
    np.testing.assert_allclose(acts.top_probs[19], list(top.values()), atol=1e-5)


def before(a):
    """The previous step's values: (T, H) shifted down one, zeros first (the initial state)."""
    return np.vstack([np.zeros((1, a.shape[1])), a[:-1]])


def lstm(x):
    np.testing.assert_allclose(x["c"], x["f"] * before(x["c"]) + x["i"] * x["g"], atol=1e-6)
    np.testing.assert_allclose(x["h"], x["o"] * np.tanh(x["c"]), atol=1e-6)
    assert -1 < x["g"].min() < 0 < x["g"].max() < 1  # the candidate is a tanh


def gru(x):
    np.testing.assert_allclose(x["h"], (1 - x["z"]) * x["n"] + x["z"] * before(x["h"]), atol=1e-6)


def mingru(x):
    np.testing.assert_allclose(x["h"], (1 - x["z"]) * before(x["h"]) + x["z"] * x["cand"], atol=1e-6)


def minlstm(x):
    np.testing.assert_allclose(x["f"] + x["i"], 1, atol=1e-6)
    np.testing.assert_allclose(x["h"], x["f"] * before(x["h"]) + x["i"] * x["cand"], atol=1e-6)


EQUATIONS = {"lstm": lstm, "gru": gru, "mingru": mingru, "minlstm": minlstm}


@pytest.mark.parametrize("cell", list(EQUATIONS))
def test_the_exposed_arrays_follow_the_cells_equations(run_of, cell):
    a = api.load(run_of(cell)).activations(TEXT)
    for k in (0, 1):
        EQUATIONS[cell]({n: a[f"layer{k}.{n}"].astype(np.float64) for n in cells.get(cell).exposes})


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_windows_carry_the_state(run_of, monkeypatch, engine):
    if engine == "torch":
        pytest.importorskip("torch")
    model = api.load(run_of("gru"))
    whole = model.activations(TEXT, engine=engine)
    monkeypatch.setattr(recording, "WINDOW", 7)
    pieces = model.activations(TEXT, engine=engine)
    for name in whole.names:
        np.testing.assert_allclose(pieces[name], whole[name], atol=1e-6)
    np.testing.assert_allclose(pieces.next_prob, whole.next_prob, atol=1e-6)  # across a window's end too


def test_max_tokens_reads_the_start_and_says_how_long_the_text_is(run_of):
    acts = api.load(run_of("rnn_tanh")).activations(TEXT, max_tokens=10)
    assert len(acts) == 10 and acts.total == len(TEXT) and "".join(acts.pieces) == TEXT[:10]
    assert not np.isnan(acts.next_prob[-1])  # the 11th token is known: its probability is


def test_bad_inputs_are_one_line_errors(run_of):
    model = api.load(run_of("lstm"))
    for call, message in [(lambda: model.activations(""), "the text to inspect is empty"),
                          (lambda: model.activations("  \n"), "the text to inspect is empty"),
                          (lambda: model.activations("QQQ"), "not in the model's vocabulary"),
                          (lambda: model.activations("x"), "has 1 known token(s)"),
                          (lambda: model.activations(TEXT, engine="jax"), "engine: 'jax' is not one of"),
                          (lambda: model.activations(TEXT, max_tokens=1), "max_tokens: 1 is too few"),
                          (lambda: model.activations(), "is not there: name the text to inspect")]:
        with pytest.raises(RnntextError, match=re.escape(message)) as info:
            call()
        assert "\n" not in str(info.value)
    assert len(model.activations("QfQ(x)", unknown="skip")) == 4


def test_a_model_with_labels_is_read_under_one(run_of):
    model = api.load(run_of("lstm", labels=("poe", "kafka")))
    with pytest.raises(RnntextError, match="trained with labels: pass condition=LABEL"):
        model.activations(TEXT)
    poe, kafka = (model.activations(TEXT, condition=c) for c in ("poe", "kafka"))
    assert np.abs(poe["layer0.h"] - kafka["layer0.h"]).max() > 0.01  # the label enters every step
    if importlib.util.find_spec("torch"):
        torch_kafka = model.activations(TEXT, condition="kafka", engine="torch")
        assert max(np.abs(torch_kafka[n] - kafka[n]).max() for n in kafka.names) < 1e-5


def test_a_line_mode_model_reads_lines_and_shows_them_as_text(tmp_path):
    from rnntext.text import levels
    from rnntext.text.levels.symbols import Vocab

    from .conftest import write_run

    start, end = levels.line_tokens("char")
    vocab = Vocab("char", tuple(sorted(set(TEXT) | {start, end})))
    cfg = ModelConfig(cell="gru", dropout=0.0, weight_drop=0.0, num_layers=1, hidden_size=(4,), embed_size=3)
    model = api.load(write_run(tmp_path, "lines", cfg, vocab, init_params(cfg, len(vocab), np.random.default_rng(0)),
                               data={"lines": True}))
    acts = model.activations("ab(c)\n\nf\n")
    assert model.lines and [model.vocab.tokens[i] for i in acts.ids] == [start, *"ab(c)", end, start, "f", end]
    assert "".join(acts.pieces) == "ab(c)\nf\n" and acts.pieces[0] == ""
