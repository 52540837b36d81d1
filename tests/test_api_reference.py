"""The Python API's reference (REFERENCE: the README's "Python API" section, read from it) runs
as written, shows every public call, and its results are what it says they are."""

import contextlib
import io
import re

import doc_blocks
import pytest

import rnntext

REFERENCE = doc_blocks.section("README.md", "Python API")

# The calls the reference must show: the package's functions and the Model's for users. The
# Model's other methods serve the command line and the server (INTERNAL).
INTERNAL = {"hidden_ids", "end_id", "start_ids", "prime_ids", "prime_key", "default_unknown", "decode_steps", "decoder", "label_id", "streams",
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
    assert printed[4] == repr(model) == (f"<rnntext.Model 2 x 64 lstm, char level, vocabulary 22, 100 iterations, "
                                         f"best validation loss {result.best_val_loss:.4f}, from runs/book>")
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
