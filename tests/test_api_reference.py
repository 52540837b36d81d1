"""The Python API's reference (REFERENCE: the README's "Python API" section, the same text) runs
as written, shows every public call, and its results are what it says they are."""

import contextlib
import io
import re
from pathlib import Path

import pytest

import rnntext

REFERENCE = '''
## Python API

The command line's work, from Python or a notebook. Options have the flags' names
(`--hidden-size 64` is `hidden_size=(64,)`), and every call below runs as written
(`tests/test_api_reference.py` runs them).

```python
import rnntext

summary = rnntext.prepare("mybook.txt", "data.h5", val_frac=0.1)  # as `rnntext prepare`
print(summary["tokens"], summary["splits"])  # e.g. 23184 {'train': 20866, 'val': 2318, 'test': 0}
```

`rnntext.train` trains into a run directory (from a dataset or straight from text) and returns
what happened. `progress` receives every training event as a dict (`rnntext.progress` lists
them: plan, start, step, log, val, example, sample, end). Left out, a notebook shows a
progress bar and a script shows nothing; `progress=False` shows nothing anywhere.

```python
def show(event):
    if event["kind"] == "plan":  # first: what the run chose and why
        print(event["parameters"], "parameters;", event["stopping"])
    if event["kind"] == "val":
        print(f"iteration {event['iter']}: validation loss {event['val_loss']:.3f}")


result = rnntext.train("data.h5", "runs/book", max_iters=100, hidden_size=(64,), progress=show)
print(result.iterations, result.stopped_by, result.best_val_loss)  # e.g. 100 max_iters 0.172...
```

A loaded model generates, scores and describes itself. Without a `seed` each call draws a fresh
one and keeps it in `model.last_seed`; the same seed and options give the same text again.

```python
model = rnntext.load("runs/book")  # weights="best" for the best validation's
text = model.generate("It was", length=100, temperature=0.8)
again = model.generate("It was", length=100, temperature=0.8, seed=model.last_seed)
three = model.generate("It was", length=50, num_samples=3, top_p=0.9)  # a list of three
for piece in model.stream("It was", length=100, seed=1):  # the text as it is written
    print(piece, end="", flush=True)
print()
print(model.sample_config(temperature=0.5))  # the options as they apply: the run's [sample], then defaults
```

```python
print(model.next_tokens("It wa", 3))  # the likeliest next tokens: e.g. [('s', 0.95...), (' ', 0.012...), ...]
scores = model.evaluate("It was the best of times.\\n")  # loss, bpc, perplexity, accuracy, tokens
own = model.evaluate()  # no text: the run's own test split, or its validation split
print(own["split"], round(own["loss"], 3))
print(model.summary()["total_parameters"])  # layers, parameters, training
ids, unknown = model.encode("It was")  # token ids, and how many symbols were not in the vocabulary
print(model.decode(ids))
for streams, step in model.stream_ids("It was", length=5, num_samples=2, seed=1):  # ids, step by step
    print(step)  # one id per sample (-1 once a line-mode sample has ended)
```

Inside the model (`rnntext inspect` draws the same): every array each layer computes, token by
token, and the units that track features of the text such as quotes, brackets and line length.

```python
acts = model.activations("It was a cold morning.\\n")  # no text: the run's validation split
print(acts.names[:3], acts["layer0.c"].shape)  # ['layer0.h', 'layer0.c', 'layer0.i'] (23, 64): (tokens, units)
found = model.find_units()  # per feature, the units whose values correlate most with it
for feature in found:
    print(feature["description"], feature["tracked"], feature["units"][:1])  # ... [{'array': 'layer0.c', ...
```
'''

# The calls the reference must show: the package's functions and the Model's for users. The
# Model's other methods serve the command line and the server (INTERNAL).
INTERNAL = {"hidden_ids", "end_id", "start_ids", "prime_ids", "default_unknown", "decode_steps", "decoder", "label_id", "streams",
            "prime_from", "read_text", "level", "lines", "vocab", "info", "weights", "sampling", "steps"}

LINE = "It was a cold morning and the town was quiet, and it was time to go.\n"


def blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_reference_shows_every_public_call():
    shown = set(re.findall(r"\.([a-z_]+)\(", REFERENCE)) | set(re.findall(r"\.([a-z_]+)\b", REFERENCE))
    public = {name for name in rnntext.__all__ if callable(getattr(rnntext, name)) and name[0].islower()}
    model = {name for name in vars(rnntext.Model) if not name.startswith("_")} - INTERNAL
    assert public == {"load", "prepare", "train"} and public <= shown
    assert model - shown == set()
    assert {"generate", "stream", "stream_ids", "evaluate", "next_tokens", "summary", "last_seed"} <= model


def test_the_reference_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mybook.txt").write_text(LINE * 336)
    namespace, out = {"__name__": "reference"}, io.StringIO()
    with contextlib.redirect_stdout(out):
        for code in blocks(REFERENCE):
            exec(code, namespace)
    printed = out.getvalue().splitlines()
    assert printed[0] == "23184 {'train': 20866, 'val': 2318, 'test': 0}"  # 69 characters x 336 lines
    result, model = namespace["result"], namespace["model"]
    assert result.iterations == 100 and result.stopped_by == "max_iters"
    assert printed[1].startswith(f"{model.summary()['total_parameters']} parameters; {{'time_limit': 0.0, "
                                 f"'max_iters': 100")
    assert printed[2] == f"iteration 100: validation loss {result.best_val_loss:.3f}"
    assert printed[3] == f"100 max_iters {result.best_val_loss}"
    assert namespace["again"] == namespace["text"] and len(namespace["text"]) == 100
    assert isinstance(namespace["three"], list) and len(namespace["three"]) == 3
    streamed = model.generate("It was", length=100, seed=1)
    assert out.getvalue().count(streamed) == 1  # the pieces the stream printed join to generate's text
    assert namespace["own"]["split"] == "val" and namespace["own"]["tokens"] == 2317
    assert namespace["scores"]["tokens"] == len("It was the best of times.\n") - 1 - 2  # 'b' and 'f' are unknown
    assert model.decode(namespace["ids"]) == "It was" and namespace["unknown"] == 0
    steps = [line for line in printed if re.fullmatch(r"\[\s*-?\d+\s+-?\d+\]", line)]
    assert len(steps) == 5
    assert printed[-7] == "['layer0.h', 'layer0.c', 'layer0.i'] (23, 64)"
    assert [f["feature"] for f in namespace["found"]] == ["quote", "bracket", "depth", "line_pos", "in_word", "line_end"]
    assert printed[-6].startswith("inside double quotes False []")  # the text has no quotes


@pytest.mark.parametrize("text", ["```python\nx = 1\n```\n", "no code"])
def test_blocks_are_found(text):
    assert blocks(text) == (["x = 1\n"] if "x" in text else [])


def test_the_readme_holds_this_reference():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert REFERENCE.strip() in readme
