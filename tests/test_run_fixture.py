"""A run directory written by an earlier rnntext still loads, resumes, and reads the same.

tests/fixtures/tiny_run was written once, by the code of that day, and is never rewritten:

    rnntext train corpus.txt -o run --hidden-size 8 --embed-size 8 --num-layers 1 --seq-len 16 \
        --batch-size 4 --max-iters 3 --seed 0 --checkpoint-every 3 --quiet

(corpus.txt: 600 characters of random sentences over 15 words), with the outputs of
`rnntext info run` and `rnntext sample run --seed 3 --length 50` beside it (and the API's summary). A change that
alters what a user sees of an existing run fails here.
"""

import json
import shutil
from pathlib import Path

import rnntext
from rnntext.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUN = FIXTURES / "tiny_run"


def copied(tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    return run


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_info_reads_as_recorded(tmp_path, capsys):
    code, out, err = run_cli(capsys, "info", copied(tmp_path))
    assert code == 0 and err == ""
    assert out == (FIXTURES / "tiny_run.info.txt").read_text(encoding="utf-8")


def test_sample_with_a_seed_reads_as_recorded(tmp_path, capsys):
    code, out, err = run_cli(capsys, "sample", copied(tmp_path), "--seed", "3", "--length", "50")
    assert code == 0 and err == ""
    assert out == (FIXTURES / "tiny_run.sample.txt").read_text(encoding="utf-8")


def test_loads_through_the_api(tmp_path):
    model = rnntext.load(copied(tmp_path))
    summary = json.loads(json.dumps(model.summary()))  # tuples as the JSON file's lists
    assert summary == json.loads((FIXTURES / "tiny_run.summary.json").read_text(encoding="utf-8"))
    text = model.generate(length=50, seed=3)
    assert text + "\n" == (FIXTURES / "tiny_run.sample.txt").read_text(encoding="utf-8")


def test_resumes(tmp_path, capsys):
    run = copied(tmp_path)
    code, out, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "6", "--sample-every", "0",
                             "--quiet")
    assert code == 0, err
    assert "6 iterations" in out and "stopped by max_iters" in out
    code, out, _ = run_cli(capsys, "info", run)
    assert code == 0 and "trained 6 iterations" in out and "967 parameters" in out
