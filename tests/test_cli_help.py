"""The command line helps a newcomer: close names suggested, the subcommand's own help named,
choices listed in --help, `--cell rnn`, and chat that checks every setting with one line."""

import io
import sys

import pytest

import rnntext
from rnntext import cells
from rnntext.cli import main
from rnntext.config import ModelConfig, read_toml


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("help")
    text = tmp / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 80)
    rnntext.train(text, tmp / "run", max_iters=40, num_layers=1, hidden_size=(32,), embed_size=8, seq_len=16,
                  batch_size=8, sample_every=0, lr=1e-2)
    return tmp / "run"


@pytest.mark.parametrize("argv, line", [
    (["sampel", "x"], "rnntext: error: argument COMMAND: invalid choice: 'sampel' (choose from 'prepare', 'export', "
                      "'train', 'sample', 'eval', 'plot', 'inspect', 'demo', 'chat', 'info', 'gradcheck', 'serve', "
                      "'presets') "
                      "(did you mean sample?) (see rnntext --help)"),
    (["sample", "RUN", "--lenght", "5"], "rnntext sample: error: unrecognized arguments: --lenght 5 (did you mean "
                                         "--length?) (see rnntext sample --help)"),
    (["train", "x", "-o", "y", "--hiden-size=8"], "rnntext train: error: unrecognized arguments: --hiden-size=8 (did "
                                                  "you mean --hidden-size?) (see rnntext train --help)"),
    (["train", "x", "-o", "y", "--cell", "lsmt"], f"rnntext train: error: cell: 'lsmt' is not one of "
                                                  f"{', '.join(cells.names())} (did you mean lstm?) (see rnntext train "
                                                  f"--help)"),
    (["train", "x", "-o", "y", "--optimizer", "adamm"], "rnntext train: error: optimizer: 'adamm' is not one of sgd, "
                                                        "adam, adamw, rmsprop, adagrad (did you mean adam?) (see "
                                                        "rnntext train --help)"),
    (["eval", "RUN", "--novelty", "--temprature", "1"], "rnntext eval: error: unrecognized arguments: --temprature 1 "
                                                        "(did you mean --temperature?) (see rnntext eval --help)"),
    (["train"], "rnntext train: error: the following arguments are required: -o/--output (see rnntext train --help)"),
])
def test_mistakes_get_one_line_a_close_name_and_the_commands_help(tmp_path, capsys, monkeypatch, argv, line):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and err == line + "\n"
    assert not (tmp_path / "y").exists()  # a refused command leaves nothing behind


def test_an_unknown_api_keyword_gets_a_close_name(tmp_path, corpus):
    with pytest.raises(rnntext.errors.ConfigError, match=r"unknown option hiden_size \(did you mean hidden_size\?\)"):
        rnntext.train(corpus, tmp_path / "run", hiden_size=(8,))


def test_help_lists_the_choices(capsys):
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for listed in (f"recurrent cell (rnn = rnn_tanh) (one of: {', '.join(cells.names())}; default: 'lstm')",
                   "optimizer (one of: sgd, adam, adamw, rmsprop, adagrad; default: 'adamw')",
                   "(one of: char, byte, word, bpe; default: 'char')",
                   "(one of: auto, constant, step, exp, inv, plateau, cosine; default: 'auto')",
                   "(one of: auto, torch, numpy; default: 'auto')"):
        assert listed in text
    assert main(["sample", "--help"]) == 0
    assert "(one of: auto, float32, bfloat16, float16; default: 'auto')" in " ".join(capsys.readouterr().out.split())


def test_rnn_is_the_tanh_rnn(tmp_path, corpus, capsys):
    assert cells.canonical("rnn") == "rnn_tanh" and cells.get("rnn") is cells.get("rnn_tanh")
    assert cells.canonical("lstm") == "lstm" and cells.canonical("nope") == "nope"
    assert ModelConfig(cell="rnn").cell == "rnn_tanh"
    code, _, _ = run_cli(capsys, "train", corpus, "-o", tmp_path / "run", "--cell", "rnn", "--max-iters", "2",
                         "--num-layers", "1", "--hidden-size", "8", "--quiet")
    assert code == 0 and read_toml(tmp_path / "run" / "config.toml")["model"]["cell"] == "rnn_tanh"
    code, out, _ = run_cli(capsys, "gradcheck", "--cell", "rnn", "--embed-size", "0")
    assert code == 0 and out.startswith("# rnn_tanh, 1 layer(s), float64")


def chat(capsys, monkeypatch, run, lines: str, *flags):
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code = main(["chat", str(run), *map(str, flags)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("flags, says", [
    (["--length", "-3"], "length: must be 0 or more, not -3"),
    (["--temperature", "nan"], "temperature: must be a finite number, not nan"),
    (["--top-p", "2"], "top_p: must be in (0, 1], not 2.0"),
    (["--seed", "-5"], "seed: must be 0 or more (below 2**63), or -1 for a fresh one, not -5"),
])
def test_chat_refuses_a_bad_flag_at_once(run, capsys, monkeypatch, flags, says):
    code, out, err = chat(capsys, monkeypatch, run, "the\nthe\n", *flags)
    assert code == 2 and out == "" and err == f"rnntext chat: error: {says} (see rnntext chat --help)\n"


def test_chat_settings_are_checked_with_one_line_each(run, capsys, monkeypatch):
    lines = ":temperature abc\n:length -3\n:tempreature 1\n:temperature nan\n:\n:top-k 2\n"
    code, out, _ = chat(capsys, monkeypatch, run, lines)
    out = out.splitlines()
    assert code == 0
    assert out[0] == "error: temperature: 'abc' is not a valid float"
    assert out[1] == "error: length: must be 0 or more, not -3"
    assert out[2].startswith("error: no setting :tempreature (did you mean :temperature?); type text and press")
    assert out[3] == "error: temperature: must be a finite number, not nan"
    assert out[4].startswith("type text and press Enter") and out[5] == "top_k = 2"


def test_chat_moves_on_between_prompts_and_a_seed_gives_the_conversation_again(run, capsys, monkeypatch):
    lines = "the q\nthe q\nthe q\n"
    flags = ("--temperature", "1.5", "--length", "40", "--reply", "length")  # the whole length, as generate
    code, first, err = chat(capsys, monkeypatch, run, lines, *flags)
    seed = int(err.split()[3])
    assert code == 0 and err == f"rnntext chat: seed {seed} (--seed {seed} gives this conversation again)\n"
    # reply k samples at seed + k, as `rnntext sample --seed` would: the same prompt, three continuations
    model = rnntext.load(run)
    replies = ["the q" + model.generate("the q", length=40, temperature=1.5, seed=seed + k, unknown="skip")
               for k in range(3)]
    assert len(set(replies)) == 3 and first == "".join(reply + "\n" for reply in replies) + "\n"  # (+ Ctrl-D's)
    _, again, err = chat(capsys, monkeypatch, run, lines, *flags, "--seed", seed)
    assert again == first and f"seed {seed}" in err
    _, other, err2 = chat(capsys, monkeypatch, run, lines, *flags)
    assert other != first and err2 != err  # unseeded: a fresh seed each time
    _, reset, _ = chat(capsys, monkeypatch, run, f"the q\n:seed {seed}\nthe q\n", *flags, "--seed", seed)
    assert reset == f"{replies[0]}\nseed = {seed}\n{replies[0]}\n\n"  # :seed N starts the count again
