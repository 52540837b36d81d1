"""`rnntext sample`: reproducible output, the documented flags, and one-line errors for bad input."""

import json

import pytest

import rnntext
from rnntext.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sample")
    text = tmp / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 80)
    out = tmp / "run"
    rnntext.train(text, out, max_iters=60, num_layers=1, hidden_size=(32,), embed_size=8, seq_len=16, batch_size=8,
                  sample_every=0, quiet=True, lr=1e-2)
    return out


def sample(capsys, *argv):
    code = main(["sample", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_same_seed_same_text_and_top_k_1_is_greedy(run, capsys):
    a = sample(capsys, run, "--prime", "the ", "--length", "60", "--seed", "5")[1]
    b = sample(capsys, run, "--prime", "the ", "--length", "60", "--seed", "5")[1]
    c = sample(capsys, run, "--prime", "the ", "--length", "60", "--seed", "6")[1]
    assert a == b != c and a.startswith("the ") and len(a) == 4 + 60 + 1
    greedy = sample(capsys, run, "--prime", "the ", "--length", "40", "--greedy")[1]
    assert sample(capsys, run, "--prime", "the ", "--length", "40", "--top-k", "1", "--seed", "9")[1] == greedy
    assert sample(capsys, run, "--prime", "the ", "--length", "40", "--temperature", "0")[1] == greedy
    torch_greedy = sample(capsys, run, "--prime", "the ", "--length", "40", "--greedy", "--engine", "torch")[1]
    assert torch_greedy == greedy


def test_json_show_probs_verbose(run, capsys):
    code, out, _ = sample(capsys, run, "--num-samples", "3", "--length", "20", "--json", "--seed", "1")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["sample"] for r in rows] == [0, 1, 2] and all(len(r["text"]) == 20 for r in rows)
    code, out, _ = sample(capsys, run, "--prime", "the quick", "--length", "0", "--show-probs", "5")
    probs = [float(line.split()[-1]) for line in out.splitlines()]
    assert code == 0 and len(probs) == 5 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    code, out, _ = sample(capsys, run, "--prime", "the", "--length", "4", "--verbose", "--greedy")
    assert code == 0 and len(out.splitlines()) == 4 and all(0 < float(x.split("\t")[1]) <= 1 for x in out.splitlines())


def test_unknown_prime_characters(run, capsys):
    code, _, err = sample(capsys, run, "--prime", "the Zebra", "--length", "5")
    assert code == 2 and "'Z'" in err and len(err.strip().splitlines()) == 1
    code, out, _ = sample(capsys, run, "--prime", "the Zebra", "--length", "5", "--unknown", "replace: ")
    assert code == 0 and out.startswith("the Zebra")
    code, out, _ = sample(capsys, run, "--prime", "the Zebra", "--length", "5", "--unknown", "skip", "--json")
    assert code == 0


def test_bad_inputs(run, tmp_path, capsys):
    bad_prime = tmp_path / "p.txt"
    bad_prime.write_bytes(b"the \xff")
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    newer = tmp_path / "newer"
    newer.mkdir()
    for name in ("model.json", "model.safetensors"):
        (newer / name).write_bytes((run / name).read_bytes())
    info = json.loads((newer / "model.json").read_text())
    info["format_version"] = 2
    (newer / "model.json").write_text(json.dumps(info))
    for argv, fragment in [
        ([tmp_path / "missing"], "does not exist"),
        ([incomplete], "no model.json"),
        ([newer], "format version 2"),
        ([run, "--length", "-1"], "length: must be 0 or more"),
        ([run, "--prime-file", bad_prime], "not valid UTF-8 at byte 4"),
        ([run, "--top-p", "1.5"], "top_p"),
        ([run, "--temperature", "-1"], "temperature"),
        ([run, "--weights", "best", "--prime", "x", "--prime-file", bad_prime], "not both"),
    ]:
        code, _, err = sample(capsys, *argv)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, (argv, err)
