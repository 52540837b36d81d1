"""The features of a text, and the search for units that track them: a unit built to follow the
bracket depth is found with r ~ 1, random units are not."""

import numpy as np
import pytest

from rnntext import api
from rnntext.inspection import TRACKS, inspect_text
from rnntext.inspection.features import TextFeatures, UnitSearch

from .conftest import TEXT, bracket_run


def test_features_of_a_known_text():
    pieces = list('a("b c")\n[x]') + [""]  # "" : a byte in the middle of a character adds nothing
    f = TextFeatures()(pieces)
    assert list(f) == ["quote", "bracket", "depth", "line_pos", "in_word", "line_end"]
    #                            a  (  "  b  _  c  "  )  \n [  x  ]  ""
    assert f["quote"].tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert f["bracket"].tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]
    assert f["depth"].tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]
    assert f["line_pos"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 3]
    assert f["in_word"].tolist() == [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    assert f["line_end"].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    nested = TextFeatures()(list("((a[b)c]))"))
    assert nested["depth"].tolist() == [1, 2, 2, 3, 3, 2, 2, 1, 0, 0]  # the tenth ")" stays at 0
    curly = TextFeatures()(list("\u201cab\u201d c"))
    assert curly["quote"].tolist() == [1, 1, 1, 0, 0, 0]


def test_sentence_position_counts_tokens_at_word_level():
    pieces = ["The", " cat", " sat", ".", " It", " ran", "!", "\n", "Go", " on"]
    f = TextFeatures(sentences=True)(pieces)
    assert f["sentence_pos"].tolist() == [1, 2, 3, 0, 1, 2, 0, 0, 1, 2]
    assert f["in_word"].tolist() == [1, 1, 1, 0, 1, 1, 0, 0, 1, 1]
    assert "sentence_pos" not in TextFeatures()(pieces)


def test_features_carry_from_window_to_window():
    pieces = list(TEXT)
    whole = TextFeatures()(pieces)
    reader = TextFeatures()
    parts = [reader(pieces[i:i + 37]) for i in range(0, len(pieces), 37)]
    for name, values in whole.items():
        assert np.concatenate([p[name] for p in parts]).tolist() == values.tolist()


def nested_text(rng, n: int = 4000) -> str:
    """Random code-like text whose brackets nest up to 5 deep."""
    out, depth = [], 0
    for _ in range(n):
        r = rng.random()
        if r < 0.08 and depth < 5:
            out.append("([{"[rng.integers(3)])
            depth += 1
        elif r < 0.16 and depth:
            out.append(")]}"[rng.integers(3)])
            depth -= 1
        else:
            out.append("abc de\n"[rng.integers(7)])
    return "".join(out)


def test_a_unit_built_to_track_depth_is_found_and_random_units_are_not():
    rng = np.random.default_rng(0)
    pieces = list(nested_text(rng))
    features = TextFeatures()(pieces)
    T = len(pieces)
    depth_unit = features["depth"] * 0.3 - 0.2 + 0.01 * rng.standard_normal(T)  # tracks depth, scaled, shifted, noisy
    arrays = {"layer0.c": np.stack([rng.standard_normal(T), depth_unit, rng.standard_normal(T)], axis=1),
              "layer1.h": np.tanh(rng.standard_normal((T, 4)))}
    search = UnitSearch()
    for start in range(0, T, 500):  # window by window, as inspect_text feeds it
        search.add({k: v[start:start + 500] for k, v in features.items()},
                   {k: v[start:start + 500] for k, v in arrays.items()})
    found = {f["feature"]: f for f in search.result(top=3)}
    best = found["depth"]["units"][0]
    assert (best["array"], best["layer"], best["exposed"], best["unit"]) == ("layer0.c", 0, "c", 1)
    assert best["r"] > 0.99 and found["depth"]["tracked"]
    assert found["bracket"]["units"][0]["unit"] == 1 and found["bracket"]["tracked"]  # inside brackets: depth > 0
    tracked = {(u["array"], u["unit"]) for f in found.values() for u in f["units"] if abs(u["r"]) >= TRACKS}
    assert tracked == {("layer0.c", 1)}  # no random unit tracks anything
    assert not found["quote"]["varies"] and found["quote"]["units"] == [] and not found["quote"]["tracked"]
    # the sums kept window by window give numpy's correlations
    x = np.concatenate(list(arrays.values()), axis=1)
    r, _ = search.correlations()
    want = [np.corrcoef(features["line_pos"], x[:, u])[0, 1] for u in range(x.shape[1])]
    np.testing.assert_allclose(r[list(features).index("line_pos")], want, atol=1e-9)


def test_a_constant_unit_correlates_with_nothing():
    search = UnitSearch()
    search.add({"depth": np.arange(10.0)}, {"layer0.h": np.stack([np.full(10, 0.7), np.arange(10.0) ** 2], 1)})
    r, _ = search.correlations()
    assert r[0, 0] == 0 and 0.9 < r[0, 1] < 1


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_hand_built_lstm_cell_that_counts_brackets_is_found(tmp_path, engine):
    """End to end: an LSTM whose cell 0 is the bracket depth by construction (conftest.bracket_run)."""
    if engine == "torch":
        pytest.importorskip("torch")
    model = api.load(bracket_run(tmp_path))
    acts = model.activations(TEXT, engine=engine)
    depth = TextFeatures()(acts.pieces)["depth"]
    np.testing.assert_allclose(acts["layer0.c"][:, 0], depth, atol=1e-4)
    found = {f["feature"]: f for f in model.find_units(TEXT, engine=engine)}
    best = found["depth"]["units"][0]
    assert (best["array"], best["unit"]) == ("layer0.c", 0) and best["r"] > 0.9999
    assert found["quote"]["varies"] and found["line_end"]["varies"]
    report = inspect_text(model, TEXT, engine=engine, page_tokens=50)
    assert len(report.shown) == 50 and report.read == report.total == len(TEXT) and report.found == list(found.values())
    assert report.following == model.vocab.id(TEXT[50])


def test_at_word_level_the_search_also_looks_for_sentence_position(tmp_path):
    from rnntext.config import ModelConfig
    from rnntext.model.parameters import init_params
    from rnntext.text.levels.word import build_word_vocab

    from .conftest import write_run

    text = "The cat sat on the mat. It ran (fast) away! Then it slept.\n" * 10
    vocab = build_word_vocab([text], "punct", eos=True)[0]
    cfg = ModelConfig(cell="lstm", dropout=0.0, weight_drop=0.0, num_layers=1, hidden_size=(5,), embed_size=3)
    model = api.load(write_run(tmp_path, "words", cfg, vocab, init_params(cfg, len(vocab), np.random.default_rng(0))))
    found = {f["feature"]: f for f in model.find_units(text)}
    assert list(found)[-1] == "sentence_pos" and found["sentence_pos"]["varies"]
    acts = model.activations(text)
    assert "".join(acts.pieces) == model.decode(acts.ids)
    assert TextFeatures(True)(acts.pieces)["sentence_pos"][:7].tolist() == [1, 2, 3, 4, 5, 6, 0]
