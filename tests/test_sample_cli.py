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


def test_renamed_flags_work_for_one_release_and_say_so(run, capsys):
    code, new, err = sample(capsys, run, "--prime", "the q", "--length", "0", "--top-probs", "4")
    assert code == 0 and len(new.splitlines()) == 4 and err == ""
    code, old, err = sample(capsys, run, "--prime", "the q", "--length", "0", "--show-probs", "4")
    assert code == 0 and old == new
    assert err.strip() == "rnntext sample: warning: --show-probs is now --top-probs; the old name will be removed in the next release"
    novelty = ["eval", str(run), "--novelty", "--length", "40", "--json", "--seed", "3"]
    assert main([*novelty, "--num-samples", "2"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert main([*novelty, "--samples", "2"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == new and new["ngrams"] == 2 * (40 - 20 + 1) and new["seed"] == 3
    assert "--samples is now --num-samples" in err


def test_engines_and_precisions_give_the_same_greedy_text(run, capsys):
    greedy = sample(capsys, run, "--prime", "the ", "--length", "30", "--greedy")[1]
    for extra in (["--engine", "auto"], ["--engine", "numpy", "--precision", "float32"],
                  ["--engine", "torch", "--precision", "auto"], ["--precision", "auto", "--device", "cpu"]):
        assert sample(capsys, run, "--prime", "the ", "--length", "30", "--greedy", *extra)[1] == greedy, extra
    code, _, err = sample(capsys, run, "--engine", "numpy", "--precision", "bfloat16")
    assert code == 2 and "precision: the numpy engine computes in float32" in err


def test_chat_settings_are_sampling_options(run, capsys, monkeypatch):
    import io
    import sys

    lines = ":greedy maybe\n:top-k -1\n:greedy on\n:length 12\nthe q\n:help\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["chat", str(run), "--temperature", "0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "error: greedy: 'maybe' is not a valid bool"
    assert out[1] == "error: top_k: must be 0 or more, not -1"
    assert out[2:4] == ["greedy = True", "length = 12"]
    assert out[4] == "the q" + rnntext.load(run).generate("the q", length=12, greedy=True)
    assert all(f" {setting}," in out[5] for setting in (":temperature 0.5", ":greedy on", ":top-k 0", ":length 12"))


def test_sample_draws_a_fresh_seed_says_it_and_the_seed_gives_the_text_again(run, capsys):
    args = ("--prime", "the ", "--length", "80", "--temperature", "1.5")
    runs = [sample(capsys, run, *args) for _ in range(3)]
    seeds = []
    for code, _, err in runs:
        assert code == 0 and err.startswith("rnntext sample: seed ") and "writes this text again" in err
        seeds.append(int(err.split()[3]))
    assert len({out for _, out, _ in runs}) == 3 and len(set(seeds)) == 3  # fresh each time
    for (_, out, _), seed in zip(runs, seeds):
        code, again, err = sample(capsys, run, *args, "--seed", seed)
        assert code == 0 and again == out and err == ""  # a given seed is not repeated back
    code, out, err = sample(capsys, run, *args, "--num-samples", "2", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and err == "" and rows[0]["seed"] == rows[1]["seed"] >= 0
    code, again, _ = sample(capsys, run, *args, "--num-samples", "2", "--json", "--seed", rows[0]["seed"])
    assert again == out
    model = rnntext.load(run)
    text = model.generate("the ", length=80, temperature=1.5)
    assert model.last_seed >= 0 and model.generate("the ", length=80, temperature=1.5, seed=model.last_seed) == text
    assert "the " + text == sample(capsys, run, *args, "--seed", model.last_seed)[1].rstrip("\n")


def test_json_is_honoured_with_top_probs_and_verbose(run, capsys):
    code, out, _ = sample(capsys, run, "--prime", "the q", "--length", "0", "--top-probs", "3", "--json")
    row = json.loads(out)
    assert code == 0 and row["prime"] == "the q" and len(row["top_probs"]) == 3
    assert row["top_probs"][0]["prob"] >= row["top_probs"][1]["prob"] >= row["top_probs"][2]["prob"] > 0
    assert row["top_probs"][0]["token"] == rnntext.load(run).next_tokens("the q", 1)[0][0]
    code, out, _ = sample(capsys, run, "--prime", "the", "--length", "3", "--verbose", "--json", "--seed", "4")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 3 and all(r["seed"] == 4 and 0 < r["prob"] <= 1 for r in rows)
    code, _, err = sample(capsys, run, "--prime", "the", "--length", "0", "--top-probs", "-2")
    assert code == 2 and "top_probs: must be 0 or more, not -2" in err and len(err.strip().splitlines()) == 1
