"""One message, every face: the Python API names keyword arguments (unknown="skip", force=True),
the command line flags (--unknown skip, --force), the HTTP API JSON fields; an unknown keyword
gets the did-you-mean a flag gets; repr(model) says what the model is."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

import rnntext
from rnntext.cli import main
from rnntext.errors import ConfigError, InputError, RnntextError
from rnntext.faces import ask, say, see_help

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny_run"  # vocabulary: the letters of its text, no "Z"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+|(?<![\w-])-o\b")
COMMAND_LINE_ONLY = {  # modules whose messages may name flags: what they serve is the command line alone
    "cli": "the command line itself",
    "serve/app.py": "the server's start-up (its host and port are flags of `rnntext serve`)",
    "interop/caffe.py": "the Caffe lab's import and export, whose flags are not the functions' keywords",
}


@pytest.mark.parametrize("mark, python, flag, json_", [
    (ask("unknown", "skip"), 'unknown="skip"', "--unknown skip", '"unknown": "skip"'),
    (ask("force", True), "force=True", "--force", '"force": true'),
    (ask("stop_at_end", False), "stop_at_end=False", "--no-stop-at-end", '"stop_at_end": false'),
    (ask("lr"), "lr", "--lr", '"lr"'),
    (ask("top_k", 5), "top_k=5", "--top-k 5", '"top_k": 5'),
    (ask("hidden_size", (512, 256)), "hidden_size=(512, 256)", "--hidden-size 512,256", '"hidden_size": [512, 256]'),
    (ask("prime", "It was"), 'prime="It was"', "--prime 'It was'", '"prime": "It was"'),
    (ask("time_limit", fill="SECONDS"), "time_limit=SECONDS", "--time-limit SECONDS", '"time_limit": SECONDS'),
    (ask("request_timeout_s", 30), "request_timeout_s=30", "--request-timeout 30", '"request_timeout_s": 30'),
    (ask("output", fill="RUN"), "output=RUN", "-o RUN", '"output": RUN'),
    (see_help("train"), "help(rnntext.train)", "rnntext train --help", "GET /docs"),
    (see_help("sample"), "help(rnntext.Model.generate)", "rnntext sample --help", "GET /docs"),
])
def test_each_face_words_an_option_its_own_way(mark, python, flag, json_):
    message = f"pass {mark} (and {{braces}} stay)"
    assert [say(message, face) for face in ("python", "flag", "json")] == \
        [f"pass {shown} (and {{braces}} stay)" for shown in (python, flag, json_)]
    error = InputError(message)
    assert str(error) == error.said("python") and error.said("flag") == say(message, "flag")


def test_the_prime_outside_the_vocabulary_names_the_keyword_in_python_and_the_flag_on_the_command_line(capsys):
    model = rnntext.load(TINY)
    with pytest.raises(InputError) as caught:
        model.generate("Zzz\u20ac", length=5)
    assert str(caught.value).endswith('pass unknown="skip" or unknown="replace:C"')
    assert "--" not in str(caught.value)
    assert main(["sample", str(TINY), "--prime", "Zzz\u20ac", "--length", "5"]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("pass --unknown skip or --unknown replace:C")
    assert model.generate("Zzz\u20ac", length=5, unknown="skip", seed=1) == model.generate("", length=5, seed=1)


def test_preparing_over_a_dataset_names_force(tmp_path, corpus, capsys):
    rnntext.prepare(corpus, tmp_path / "data.h5")
    with pytest.raises(InputError) as caught:
        rnntext.prepare(corpus, tmp_path / "data.h5")
    assert str(caught.value) == f"output {tmp_path / 'data.h5'} already exists: choose another name or pass force=True to replace it"
    assert main(["prepare", str(corpus), "-o", str(tmp_path / "data.h5")]) == 2
    assert capsys.readouterr().err.endswith("choose another name or pass --force to replace it\n")


def test_training_into_a_trained_run_names_resume_force_and_output(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(TINY, run)
    with pytest.raises(RnntextError) as caught:
        rnntext.train(run / "data.h5", run, max_iters=1)
    assert "pass resume=True to continue it, force=True to start it over" in str(caught.value)
    assert str(caught.value).endswith("or choose another output")
    assert main(["train", str(run / "data.h5"), "-o", str(run), "--max-iters", "1"]) == 2
    assert "pass --resume to continue it, --force to start it over" in capsys.readouterr().err


@pytest.mark.parametrize("wrong, right", [("lenght", "length"), ("temprature", "temperature"), ("topk", "top_k")])
def test_an_unknown_keyword_gets_a_did_you_mean(wrong, right):
    model = rnntext.load(TINY)
    with pytest.raises(ConfigError) as caught:
        model.generate("the", **{wrong: 20})
    assert str(caught.value) == (f"unknown option {wrong} (did you mean {right}?): see help(rnntext.Model.generate) "
                                 f"for the valid names")
    with pytest.raises(ConfigError, match=rf"unknown option {wrong} \(did you mean {right}\?\)"):
        model.sample_config(**{wrong: 20})
    with pytest.raises(ConfigError) as caught:
        list(model.stream("the", **{wrong: 20}))
    assert caught.value.said("flag").startswith(f"unknown option --{wrong} (did you mean --{right.replace('_', '-')}?)")


def test_an_unknown_training_keyword_gets_a_did_you_mean(tmp_path):
    with pytest.raises(ConfigError) as caught:
        rnntext.train(TINY / "data.h5", tmp_path / "run", hiden_size=(8,))
    assert str(caught.value) == ("unknown option hiden_size (did you mean hidden_size?): see help(rnntext.train) for "
                                 "the valid names")
    assert caught.value.said("flag").startswith("unknown option --hiden-size (did you mean --hidden-size?): see "
                                                "rnntext train --help")
    assert not (tmp_path / "run").exists()


def test_a_missing_label_in_python_names_the_keyword():
    with pytest.raises(ConfigError) as caught:
        rnntext.load(TINY).label_id("poems")
    assert str(caught.value) == "condition: this model was trained without labels: drop condition"


def test_repr_says_what_the_model_is():
    model = rnntext.load(TINY)
    assert repr(model) == (f"<rnntext.Model 1 x 8 lstm, char level, vocabulary 23, 3 iterations, best validation "
                           f"loss 3.1845, from {TINY}>")
    assert str(model) == repr(model)


def test_library_messages_name_options_through_faces():
    """Every message raised outside the command line names its options with rnntext.faces.ask (a
    quoted `rnntext ...` command line may stand as it is)."""
    found = []
    for path in sorted((ROOT / "src" / "rnntext").rglob("*.py")):
        rel = path.relative_to(ROOT / "src" / "rnntext").as_posix()
        if any(rel == k or rel.startswith(k + "/") for k in COMMAND_LINE_ONLY):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                text = "".join(n.value for n in ast.walk(node.exc) if isinstance(n, ast.Constant)
                               and isinstance(n.value, str))
                if FLAG.search(re.sub(r"`rnntext [^`]*`", "", text)):
                    found.append(f"{rel}:{node.lineno}")
    assert found == []


def test_the_command_line_prints_the_flag_face(capsys):
    assert main(["sample", str(TINY), "--beam", "2", "--num-samples", "3", "--length", "3"]) == 2
    assert "give --num-samples at most --beam (2), or a wider --beam" in capsys.readouterr().err
    with pytest.raises(ConfigError) as caught:
        rnntext.load(TINY).generate("the", beam=2, num_samples=3)
    assert "give num_samples at most beam (2), or a wider beam" in str(caught.value)
