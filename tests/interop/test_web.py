"""`export_web`: the page's JavaScript runtime against the NumPy runtime, in headless Chromium.

Debian's /usr/bin/chromium driven by Playwright (the `browser` fixture of conftest.py; never a
downloaded browser), the page opened from file:// under the browser's default rules. Each model has random weights drawn by the project's init (scaled up so that
greedy text is not one repeated token); the page must produce the NumPy runtime's tokens,
greedy and seeded, and its next-token probabilities.
"""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                   "(pip install playwright; no browser download needed)")

from rnntext import api, cells  # noqa: E402
from rnntext.config import ModelConfig  # noqa: E402
from rnntext.errors import InputError, RunError  # noqa: E402
from rnntext.interop.web import export_web, vocab_spec  # noqa: E402
from rnntext.model.parameters import init_params  # noqa: E402
from rnntext.model.saved import RunInfo, write_model  # noqa: E402
from rnntext.text import levels  # noqa: E402
from rnntext.text.levels.symbols import Vocab, build_vocab  # noqa: E402
from rnntext.text.levels.word import build_word_vocab  # noqa: E402

TEXT = "the quick brown fox jumps over the lazy dog, don't stop. héllo wörld 日本!\nsecond line: 3.14 «quoted»\n"


def bpe_vocab():
    pytest.importorskip("tokenizers", reason="the bpe level needs the tokenizers package (pip install tokenizers)")
    from rnntext.text.levels.bpe import train_bpe

    return train_bpe(iter([TEXT * 20]), 300, ("<s>", "</s>"))


VOCABS = {
    "char": lambda: build_vocab("char", [TEXT])[0],
    "byte": lambda: build_vocab("byte", [TEXT])[0],
    "word": lambda: build_word_vocab([TEXT], "punct", eos=True)[0],
    "bpe": bpe_vocab,
    "char-lines": lambda: Vocab("char", tuple(sorted(set(TEXT) | set(levels.line_tokens("char"))))),
}

# (cell, vocabulary, model options, prime, condition, weight seed): every cell, every level,
# one-hot input, tied weights, unequal layers, labels and line mode. Untrained greedy text soon
# repeats one token; each seed is one whose greedy text here holds three tokens or more.
CASES = {
    "lstm-char": ("lstm", "char", dict(num_layers=2, hidden_size=(12, 9), embed_size=5), "the quick é", None, 3),
    "gru-byte": ("gru", "byte", dict(num_layers=2, hidden_size=(10,), embed_size=0), "héllo 日本", None, 0),
    "tanh-word": ("rnn_tanh", "word", dict(num_layers=1, hidden_size=(8,), embed_size=8, tie_weights=True),
                  "the quick zebra , don't", None, 5),
    "relu-bpe": ("rnn_relu", "bpe", dict(num_layers=2, hidden_size=(9, 7), embed_size=6), "héllo <s> wörld", None, 1),
    "lstm-labels-lines": ("lstm", "char-lines", dict(num_layers=1, hidden_size=(10,), embed_size=4,
                                                     labels=("poe", "kafka")), "", "kafka", 0),
}


def make_run(root: Path, name: str) -> Path:
    """A run directory as `train` writes it, with the project's initial weights times 4 (livelier text)."""
    cell, level, options, _, _, seed = CASES[name]
    vocab = VOCABS[level]()
    cfg = ModelConfig(cell=cell, dropout=0.0, weight_drop=0.0, **options)
    weights = {k: v * 4 for k, v in init_params(cfg, len(vocab), np.random.default_rng(seed)).items()}
    run = root / name
    run.mkdir()
    write_model(run, RunInfo(run, cfg, vocab, {"lines": level.endswith("lines")}, {}), weights)
    return run


@pytest.fixture(scope="module")
def tab(browser):
    """One tab for the module's pages (a new tab costs more than the test itself on a busy machine)."""
    page = browser.new_page()
    page.errors, page.elsewhere = [], []
    page.on("request", lambda r: r.url.startswith("file://") or page.elsewhere.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    yield page



def open_page(tab, index: Path):
    tab.errors.clear()
    tab.goto(index.as_uri())
    tab.wait_for_selector("body[data-state=ready]")
    return tab


def reference(model, prime: str, condition, **rule) -> list[int]:
    """The NumPy runtime's tokens, as `rnntext sample` draws them."""
    unknown = "replace:<unk>" if model.vocab.level == "word" else "skip"
    return [int(ids[0]) for _, ids in model.stream_ids(prime, unknown=unknown, condition=condition, **rule)]


RULES = [dict(length=40, temperature=0.0, seed=0),                        # greedy
         dict(length=60, temperature=1.0, seed=7),                        # plain sampling
         dict(length=60, temperature=0.7, top_k=5, top_p=0.9, seed=2**62 + 5)]


@pytest.mark.parametrize("name", list(CASES))
def test_page_generates_what_the_numpy_runtime_does(tab, tmp_path, name):
    run = make_run(tmp_path, name)
    prime, condition = CASES[name][3], CASES[name][4]
    index = export_web(run, tmp_path / "site")
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html", "levels.js", "model.js", "page.js", "runtime.js"]
    model = api.load(run)
    label = None if condition is None else model.info.model.labels.index(condition)
    page = open_page(tab, index)
    assert page.is_visible("#label-box") == (condition is not None)
    unknown = "replace:<unk>" if model.vocab.level == "word" else "skip"
    want_prime = [int(i) for i in model.encode(prime, unknown)[0]] or model.start_ids()
    assert page.evaluate("p => rnntextModel.encode(p).ids", prime) == want_prime
    for rule in RULES:
        want = reference(model, prime, condition, **rule)
        options = {"length": rule["length"], "temperature": rule["temperature"], "topK": rule.get("top_k", 0),
                   "topP": rule.get("top_p", 1.0), "seed": str(rule["seed"]), "label": label}
        got = page.evaluate("([p, o]) => { o.seed = BigInt(o.seed); return rnntextModel.run(p, o); }", [prime, options])
        assert got["ids"] == want, rule
        assert got["text"] == model.decode(want_prime + want)
        assert len(set(want)) >= 3, "a meaningful check needs varied text"
    top = dict(model.next_tokens(prime, 10, unknown, condition))
    got = page.evaluate("([p, l]) => rnntextModel.top(rnntextModel.encode(p).ids, 10, l)", [prime, label])
    assert [t for _, t, _ in got] == list(top)
    assert max(abs(p - top[t]) for _, t, p in got) < 1e-5
    assert page.errors == []



@pytest.mark.parametrize("cell", cells.names())
def test_every_registered_cell_steps_in_the_page(tab, tmp_path, cell):
    """The page takes its cell's step from the cell's module: every registered cell is exported
    and generates what the NumPy runtime does (greedy and sampled)."""
    run = cell_run(tmp_path, cell)
    page = open_page(tab, export_web(run, tmp_path / "site"))
    model = api.load(run)
    for rule in RULES[:2]:
        want = reference(model, "the quick", None, **rule)
        options = {"length": rule["length"], "temperature": rule["temperature"], "topK": 0, "topP": 1.0,
                   "seed": str(rule["seed"]), "label": None}
        got = page.evaluate("([p, o]) => { o.seed = BigInt(o.seed); return rnntextModel.run(p, o); }",
                            ["the quick", options])
        assert got["ids"] == want, rule
    assert page.errors == []


def cell_run(tmp_path, cell: str):
    """A run of a 2-layer `cell` model (11 and 7 units) with large random weights, written directly."""
    vocab = VOCABS["char"]()
    cfg = ModelConfig(cell=cell, dropout=0.0, weight_drop=0.0, num_layers=2, hidden_size=(11, 7), embed_size=5)
    weights = {k: v * 4 for k, v in init_params(cfg, len(vocab), np.random.default_rng(1)).items()}
    run = tmp_path / cell
    run.mkdir()
    write_model(run, RunInfo(run, cfg, vocab, {"lines": False}, {}), weights)
    return run


def test_a_cell_without_a_page_step_is_refused_in_one_line(tmp_path, monkeypatch):
    run = cell_run(tmp_path, "gru")
    monkeypatch.setattr(type(cells.get("gru")), "js_step", "")
    with pytest.raises(InputError, match="the web page has no step for the cell 'gru' yet: export this run with"):
        export_web(run, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_the_form_shows_the_greedy_text_and_the_likeliest_tokens(tab, tmp_path):
    run = make_run(tmp_path, "lstm-char")
    page = open_page(tab, export_web(run, tmp_path / "site"))
    model = api.load(run)
    assert not page.is_visible("#label-box")  # a model without labels has no label to choose
    page.fill("#prime", "the quick é")
    page.fill("#temperature", "0")
    page.fill("#length", "50")
    page.click("#generate")
    page.wait_for_selector("body[data-state=done]")
    want = model.generate("the quick é", length=50, temperature=0)
    assert page.inner_text("#output") == "the quick é" + want
    rows = page.eval_on_selector_all("#top-prime tr", "rows => rows.map(r => Number(r.dataset.id))")
    assert rows == [model.vocab.id(t) for t, _ in model.next_tokens("the quick é", 10)]
    assert len(page.eval_on_selector_all("#top-end tr", "rows => rows")) == 10
    page.fill("#top-p", "1.5")
    page.click("#generate")
    assert "top-p" in page.inner_text("#status")
    assert page.errors == [] and page.elsewhere == []  # nothing fetched but the page's own files



def test_each_click_draws_a_fresh_seed_unless_one_is_typed_and_shows_it(tab, tmp_path):
    run = make_run(tmp_path, "lstm-char")
    page = open_page(tab, export_web(run, tmp_path / "site"))
    model = api.load(run)
    assert page.inner_text("#about").startswith("A 12 + 9 lstm, embedding 5, on char tokens (")
    assert page.input_value("#seed") == "" and page.inner_text("#seed-used") == ""
    page.fill("#prime", "the quick")
    page.fill("#length", "40")
    shown = []
    for _ in range(2):
        page.click("#generate")
        page.wait_for_selector("body[data-state=done]")
        seed = int(page.inner_text("#seed-used"))
        assert f"seed {seed} (type it in Seed to write this text again)" in page.inner_text("#status")
        assert page.inner_text("#output") == "the quick" + model.generate("the quick", length=40, seed=seed)
        assert page.input_value("#seed") == ""  # still empty: the next click draws again
        shown.append(seed)
    assert shown[0] != shown[1] and all(0 <= s < 2**31 for s in shown)
    page.fill("#seed", "12345")
    texts = []
    for _ in range(2):
        page.click("#generate")
        page.wait_for_selector("body[data-state=done]")
        assert page.inner_text("#seed-used") == "12345"
        texts.append(page.inner_text("#output"))
    assert texts[0] == texts[1] == "the quick" + model.generate("the quick", length=40, seed=12345)
    assert page.errors == []


def test_the_page_describes_the_model_as_the_command_line_does(tab, tmp_path):
    run = make_run(tmp_path, "gru-byte")  # 2 layers of 10, one-hot input
    page = open_page(tab, export_web(run, tmp_path / "site"))
    assert page.inner_text("#about").startswith("A 2 x 10 gru, one-hot input, on byte tokens (")
    assert api.load(run).info.model.shape() == "2 x 10 gru"


def test_uniforms_are_numpys_pcg64_streams(tab, tmp_path):
    page = open_page(tab, export_web(make_run(tmp_path, "lstm-char"), tmp_path / "site"))
    for seed in (0, 1, 123456789, 2**64 + 5, 2**130 + 17):
        got = page.evaluate("s => { const u = new RnnText.Uniforms(BigInt(s)); return Array.from({length: 64}, "
                            "() => u.next()); }", str(seed))
        want = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))).random(64)
        assert got == want.tolist(), seed



WORDS = ["Hello, world! don't stop -- 3.14 and 10,000... «quoted» (yes) \"straight\" 'single' über-cool\nnext",
         "<unk> <eos> a/b — c ¿qué? ¡sí!"]


def test_word_and_bpe_text_round_trips_as_the_project_does(tab, tmp_path):
    from rnntext.text.levels.word import WordVocab, count_words

    counts = count_words(WORDS, "punct", eos=True)
    vocab = WordVocab.from_counts(counts, "punct", eos=True)
    page = open_page(tab, export_web(make_run(tmp_path, "lstm-char"), tmp_path / "site"))
    for text in WORDS:  # the tokenizer's regex and detokenize's spacing, in JavaScript
        spec = vocab_spec(vocab)
        got = page.evaluate("""([s, t]) => { const v = {...s.vocab, spacing: s.spacing};
            const enc = RnnText.LEVELS.word.encode(v, t); return [enc.ids, RnnText.LEVELS.word.decode(v, enc.ids)]; }""",
                            [spec, text])
        assert got[0] == vocab.encode(text).tolist()
        assert got[1] == vocab.decode(vocab.encode(text))
    byte = build_vocab("byte", [TEXT])[0]  # cut and broken UTF-8 becomes U+FFFD as Python's "replace" makes it
    for cut in ([0xE6, 0x97, 0x61, 0x20], [0x61, 0xE6], [0xA9, 0xC3]):
        ids = [byte.id(chr(b)) for b in cut]
        assert page.evaluate("([v, ids]) => RnnText.LEVELS.byte.decode(v, ids)", [byte.to_json(), ids]) == byte.decode(ids)
    bpe = bpe_vocab()
    for text in [TEXT, "  spaces\t\ttabs 123 456 ünïcödé <s>x</s> 'll 've emoji 🎉 done", ""]:
        got = page.evaluate("""([v, t]) => { const enc = RnnText.LEVELS.bpe.encode(v, t);
            return [enc.ids, RnnText.LEVELS.bpe.decode(v, enc.ids)]; }""", [bpe.to_json(), text])
        assert got == [bpe.encode(text).tolist(), text]



def test_export_refuses_to_overwrite_and_names_the_problem(tmp_path):
    run = make_run(tmp_path, "lstm-char")
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    index = export_web(run, site)
    with pytest.raises(InputError, match="pass force=True"):
        export_web(run, site)
    before = (site / "model.js").read_bytes()
    assert export_web(run, site, weights="latest", force=True) == index
    assert (site / "model.js").read_bytes() == before and (site / "notes.txt").read_text() == "mine"
    with pytest.raises(InputError, match="is a file"):
        export_web(run, site / "notes.txt")
    with pytest.raises(RunError, match="best.safetensors is missing"):
        export_web(run, tmp_path / "other", weights="best")
    with pytest.raises(RunError, match="does not exist"):
        export_web(tmp_path / "nothing", tmp_path / "other")


def test_the_command_line_exports_and_refuses_to_overwrite(tmp_path, capsys):
    from rnntext.cli import main

    run, site = make_run(tmp_path, "lstm-char"), tmp_path / "site"
    assert main(["export", "web", str(run), "-o", str(site)]) == 0
    assert f"wrote {site / 'index.html'}" in capsys.readouterr().out
    before = (site / "model.js").read_bytes()
    assert main(["export", "web", str(run), "-o", str(site)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--force" in err and len(err.splitlines()) == 1
    assert (site / "model.js").read_bytes() == before
    assert main(["export", "web", str(run), "-o", str(site), "--force", "--weights", "latest"]) == 0
