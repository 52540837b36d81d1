"""The ONNX file carries the vocabulary and the run's settings, and docs/exporting.md's onnxruntime
snippet (SNIPPET below, the same text) writes text with nothing but onnxruntime and NumPy."""

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import rnntext  # noqa: E402
from rnntext.interop.onnx_export import export_onnx  # noqa: E402

SNIPPET = '''
import json

import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("book.onnx")
meta = session.get_modelmeta().custom_metadata_map
tokens = json.loads(meta["tokens"])  # id -> token (a character, for a character-level run)
ids = {token: i for i, token in enumerate(tokens)}
state = {i.name: np.zeros((1, i.shape[1]), np.float32) for i in session.get_inputs()[1:]}


def step(token_id):
    logits, *new_state = session.run(None, {"ids": np.array([token_id]), **state})
    state.update(zip(list(state), new_state))
    return logits[0]


prime, text, rng = "the ", [], np.random.default_rng(0)
for ch in prime:
    logits = step(ids[ch])
for _ in range(200):
    p = np.exp((logits - logits.max()) / 0.8)  # temperature 0.8
    token = rng.choice(len(p), p=p / p.sum())
    text.append(tokens[token])
    logits = step(token)
print(prime + "".join(text))
'''


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onnx")
    corpus = tmp / "t.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 80)
    rnntext.train(corpus, tmp / "run", max_iters=40, num_layers=2, hidden_size=(24, 16), embed_size=8, seq_len=16,
                  batch_size=8, sample_every=0, lr=1e-2, lowercase=True)
    export_onnx(tmp / "run", tmp / "book.onnx")
    return tmp


def test_the_file_carries_the_vocabulary_and_settings(book):
    model = rnntext.load(book / "run")
    meta = {k: json.loads(v) for k, v in ort.InferenceSession(str(book / "book.onnx")).get_modelmeta()
            .custom_metadata_map.items()}
    assert meta["tokens"] == list(model.vocab.tokens) and meta["vocab"] == model.vocab.to_json()
    assert meta["level"] == "char" and meta["format"] == {"name": "rnntext-onnx", "version": 1}
    assert meta["model"]["hidden_size"] == [24, 16] and meta["model"]["cell"] == "lstm"
    assert meta["data"]["lowercase"] is True  # how text must be normalised before it is looked up
    assert meta["state"] == ["h_l0", "c_l0", "h_l1", "c_l1"]
    assert meta["start_ids"] == model.start_ids() and meta["end_id"] is None
    sample = dataclasses.asdict(model.sample_config())
    assert meta["sample"] == json.loads(json.dumps({k: sample[k] for k in meta["sample"]})) and meta["sample"]["length"] == 500
    assert "seed" not in meta["sample"]  # a seed belongs to each call


def test_the_readme_snippet_writes_text(book, monkeypatch):
    monkeypatch.chdir(book)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(SNIPPET, {"__name__": "snippet"})
    text = out.getvalue()
    vocab = set(rnntext.load(book / "run").vocab.tokens)
    assert text.startswith("the ") and len(text) == 4 + 200 + 1 and set(text) <= vocab


def test_stepping_the_file_as_the_snippet_does_gives_rnntexts_text(book):
    # greedy, so that no random numbers differ: the file, its metadata and the snippet's way of
    # feeding the state back give exactly what rnntext writes
    session = ort.InferenceSession(str(book / "book.onnx"))
    tokens = json.loads(session.get_modelmeta().custom_metadata_map["tokens"])
    ids = {t: i for i, t in enumerate(tokens)}
    state = {i.name: np.zeros((1, i.shape[1]), np.float32) for i in session.get_inputs()[1:]}
    out = []
    for ch in "the q":
        logits, *new = session.run(None, {"ids": np.array([ids[ch]]), **state})
        state = dict(zip(state, new))
    for _ in range(60):
        token = int(np.argmax(logits[0]))
        out.append(tokens[token])
        logits, *new = session.run(None, {"ids": np.array([token]), **state})
        state = dict(zip(state, new))
    assert "".join(out) == rnntext.load(book / "run").generate("the q", length=60, greedy=True)


def test_the_page_holds_this_snippet():
    readme = (Path(__file__).resolve().parents[2] / "docs" / "exporting.md").read_text(encoding="utf-8")
    assert SNIPPET.strip() in readme
