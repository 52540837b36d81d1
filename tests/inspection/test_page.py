"""The page's data and file (no browser), and `rnntext inspect` on the command line: its output,
--json, and one-line errors with exit status 2."""

import base64
import hashlib
import json
import re

import numpy as np
import pytest

import rnntext
from rnntext import api
from rnntext.cli import main
from rnntext.data.dataset import open_dataset
from rnntext.inspection import inspect_text
from rnntext.inspection.page import page_data, page_html, safe_json

from .conftest import TEXT, random_run, write_run


def decoded(array: dict, T: int) -> np.ndarray:
    """An array of the page's data back as (T, H) values, as the page's script reads it."""
    q = np.frombuffer(base64.b64decode(array["q"]), np.uint8).reshape(array["units"], T).T
    lo, hi = np.array(array["lo"]), np.array(array["hi"])
    return lo + q * (hi - lo) / 255


def test_the_data_holds_every_array_to_within_its_step(tmp_path):
    model = api.load(random_run(tmp_path, "lstm"))
    report = inspect_text(model, TEXT, page_tokens=120)
    data = page_data(model, report, "demo")
    assert data["ids"] == report.shown.ids.tolist() and "".join(data["pieces"]) == TEXT[:120]
    assert [a["name"] for a in data["arrays"]] == report.shown.names
    for a in data["arrays"]:
        true = report.shown[a["name"]]
        step = (true.max(axis=0) - true.min(axis=0)) / 255
        assert np.all(np.abs(decoded(a, 120) - true) <= step / 2 + 1e-6)
        assert a["fraction"] == (a["exposed"] in "ifo")
    assert data["next_id"] == model.vocab.id(TEXT[120]) and data["next_prob"][-1] is not None
    assert {model.vocab.tokens[int(i)] for i in data["labels"]} >= set(TEXT[:121])
    assert data["found"] == report.found and data["about"] == {
        "line": f"lstm, 2 layer(s) of 6, 5 units, char level; the given text: 120 of {len(TEXT):,} tokens shown",
        "read": len(TEXT), "total": len(TEXT), "shown": 120}
    assert data["note"] == f"the text has {len(TEXT):,} tokens; the page shows the first 120 (page_tokens), " \
                           f"a length it redraws smoothly"


def test_the_page_is_one_file_whose_own_script_alone_may_run():
    html = page_html({"ids": [], "x": "</script><script>alert(1)</script><!--"})
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)[1]
    script = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(script) == 1 and html.count("<script") == 2  # the data block and the script
    digest = base64.b64encode(hashlib.sha256(script[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy and policy.startswith("default-src 'none'")
    assert "alert" in html and "<script>alert" not in html and "http" not in html.replace("http-equiv", "")


def test_json_in_the_page_cannot_end_its_element():
    value = {"token": "</script><!-- & \u2028 \ud800", "n": [1, 2.5, None]}
    text = safe_json(value)
    assert not set(text) & set("<>&") and text.isascii()
    assert json.loads(text) == value


@pytest.fixture
def split_run(tmp_path, corpus):
    """A run (random weights) whose model.json names the dataset it came from, 10% validation."""
    data = tmp_path / "d.h5"
    rnntext.prepare(corpus, data, val_frac=0.1)
    with open_dataset(data) as dataset:
        vocab = dataset.vocab
    from rnntext.config import ModelConfig
    from rnntext.model.parameters import init_params

    cfg = ModelConfig(cell="gru", dropout=0.0, weight_drop=0.0, num_layers=1, hidden_size=(8,), embed_size=4)
    weights = init_params(cfg, len(vocab), np.random.default_rng(0))
    return write_run(tmp_path, "run", cfg, vocab, weights, {"dataset": str(data)})


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_writes_the_page_of_the_validation_split(tmp_path, capsys, split_run):
    page = tmp_path / "page.html"
    code, out, err = run_cli(capsys, "inspect", split_run, "-o", page, "--page-tokens", "100")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"wrote {page}: 100 tokens of the validation split of d.h5, coloured by any unit; open it in " \
                       f"a browser"
    assert lines[1] == "cut: the text has 888 tokens; the page shows the first 100 (page_tokens), a length it " \
                       "redraws smoothly"
    assert lines[2] == "units that track a feature over 888 tokens (|r| >= 0.5):"
    assert len(lines) == 3 + 6 and lines[3].startswith("  inside double quotes: does not vary")  # no quotes
    assert any(re.match(r"  position in the line .*: (no unit tracks it \(best )?layer 0 (h|r|z|n) #\d+ r=[+-]\d\.\d\d", x)
               for x in lines)
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page.read_text(), re.S)[1])
    assert len(data["ids"]) == 100 and data["about"]["total"] == 888
    code, out, err = run_cli(capsys, "inspect", split_run, "-o", page, "--force", "--json", "--text", "the quick fox",
                             "--top", "2")
    assert code == 0, err
    result = json.loads(out)
    assert (result["tokens"], result["total"], result["shown"], result["note"]) == (13, 13, 13, None)
    assert [f["feature"] for f in result["features"]] == ["quote", "bracket", "depth", "line_pos", "in_word",
                                                          "line_end"]
    assert all(len(f["units"]) == (2 if f["varies"] else 0) for f in result["features"])


def test_bad_inputs_get_one_line_and_status_2(tmp_path, capsys, split_run, corpus):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    (tmp_path / "taken.html").write_text("mine")
    for argv, fragment in [
        (["inspect", tmp_path / "nothing"], "does not exist"),
        (["inspect", split_run, "--text", "QXZ quick"], "not in the model's vocabulary"),
        (["inspect", split_run, "--text", ""], "the text to inspect is empty"),
        (["inspect", split_run, empty], "empty"),
        (["inspect", split_run, corpus, "--text", "the"], "give text files or --text, not both"),
        (["inspect", split_run, "-o", tmp_path / "taken.html"], "already exists"),
        (["inspect", split_run, "--page-tokens", "0"], "page_tokens: must be at least 1"),
        (["inspect", split_run, "--max-tokens", "1"], "max_tokens: 1 is too few"),
        (["inspect", split_run, "--engine", "jax"], "invalid choice"),
    ]:
        code, out, err = run_cli(capsys, *argv, *([] if "-o" in argv else ["-o", tmp_path / "p.html"]))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (argv, err)
        assert fragment in err, (fragment, err)
    assert (tmp_path / "taken.html").read_text() == "mine" and not (tmp_path / "p.html").exists()
