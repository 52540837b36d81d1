"""The run directory's lifecycle: rnntext removes or replaces only files it wrote, a refused
command changes nothing, SIGTERM saves a checkpoint, resume never goes round in a circle."""

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from helpers import TINY, one_line_error, run_cli
from rnntext.config import Config, merge, read_toml, to_toml
from rnntext.data.atomic import WriteError, append_line
from rnntext.model import claim
from rnntext.model.claim import read_manifest

SRC = Path(__file__).resolve().parents[2] / "src"


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_keeps_a_dataset_that_lives_in_the_run(tmp_path, capsys, corpus):
    proj = tmp_path / "proj"
    assert run_cli(capsys, "prepare", corpus, "-o", proj / "data.h5")[0] == 0
    data = (proj / "data.h5").read_bytes()
    code, out, err = run_cli(capsys, "train", proj / "data.h5", "-o", proj, "--force", "--max-iters", "2", *TINY)
    assert code == 0, err
    assert "removed" not in out  # nothing of an earlier run was there
    code, out, err = run_cli(capsys, "train", proj / "data.h5", "-o", proj, "--force", "--max-iters", "2", *TINY)
    assert code == 0, err
    removed = out.splitlines()[0]
    assert removed.startswith(f"removed from {proj}") and "model.safetensors" in removed and "data.h5" not in removed
    assert (proj / "data.h5").read_bytes() == data
    record = read_manifest(proj)
    assert record["inputs"] == [str((proj / "data.h5").resolve())] and "data.h5" not in record["files"]


def test_refused_command_changes_nothing_and_force_removes_only_rnntexts_files(tmp_path, capsys, corpus):
    u = tmp_path / "u"
    u.mkdir()
    (u / ".draft.tmp").write_text("x")
    (u / "notes.txt").write_text("n")
    (u / ".model.json.abcd1234.tmp").write_text("a temporary file of rnntext's pattern")
    before = snapshot(u)
    code, _, err = run_cli(capsys, "train", corpus, "-o", u, *TINY)
    one_line_error(code, err, "is not empty", ".draft.tmp", "--force")
    code, _, err = run_cli(capsys, "train", corpus, "-o", u, "--resume", *TINY)  # nothing to resume: it starts
    one_line_error(code, err, "is not empty", ".draft.tmp", "--force")
    code, _, err = run_cli(capsys, "train", "-o", u, "--resume", *TINY)
    one_line_error(code, err, "no rnntext run to resume", "give the text to train on beside --resume")
    assert snapshot(u) == before
    code, _, err = run_cli(capsys, "train", corpus, "-o", u, "--force", "--max-iters", "2", "--keep-last", "1", *TINY)
    assert code == 0, err
    assert (u / ".draft.tmp").read_text() == "x" and (u / "notes.txt").read_text() == "n"
    assert not (u / ".model.json.abcd1234.tmp").exists()  # rnntext's own leftover: removed once accepted
    (u / "checkpoints" / "mine.txt").write_text("the user's")
    code, out, err = run_cli(capsys, "train", corpus, "-o", u, "--force", "--max-iters", "2", *TINY)
    assert code == 0, err
    assert "checkpoints" in out.splitlines()[0] and (u / "checkpoints" / "mine.txt").read_text() == "the user's"
    assert not list((u / "checkpoints").glob("iter_*"))


def test_force_never_replaces_a_file_rnntext_did_not_write(tmp_path, capsys, corpus):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "config.toml").write_text("# mine\n[train]\nlr = 0.01\n")
    (proj / "metrics.jsonl").write_text("my own notes\n")
    before = snapshot(proj)
    code, _, err = run_cli(capsys, "train", corpus, "--config", proj / "config.toml", "-o", proj, "--force", *TINY)
    one_line_error(code, err, "config.toml is an input of this command")
    (tmp_path / "c.toml").write_text("[train]\nlr = 0.01\n")
    code, _, err = run_cli(capsys, "train", corpus, "--config", tmp_path / "c.toml", "-o", proj, "--force", *TINY)
    one_line_error(code, err, "config.toml, metrics.jsonl, which rnntext has no record of writing")
    assert snapshot(proj) == before


def test_prepare_refuses_to_replace_its_input(tmp_path, capsys, corpus):
    text = corpus.read_bytes()
    code, _, err = run_cli(capsys, "prepare", corpus, "-o", corpus, "--force")
    one_line_error(code, err, "is also an input")
    assert corpus.read_bytes() == text


def test_bad_targets_and_options_are_one_line_errors(tmp_path, capsys, corpus, monkeypatch):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for argv, fragment in [
        (["-o", tmp_path / "dangling"], "symbolic link"),
        (["-o", tmp_path / "r", "--config", tmp_path], "cannot read config file"),
        (["-o", tmp_path / "r", "--encoding", "utf-16"], "cannot read the input as utf-16"),
        (["-o", tmp_path / "r", "--resume", "--force"], "--resume"),
    ]:
        code, _, err = run_cli(capsys, "train", corpus, *argv, "--max-iters", "2", *TINY)
        one_line_error(code, err, fragment)
    assert run_cli(capsys, "train", corpus, "-o", tmp_path / "r", "--max-iters", "2", *TINY)[0] == 0  # retry works
    before = snapshot(tmp_path / "r")
    monkeypatch.setattr(claim.os, "access", lambda *a: False)  # a read-only file system (root ignores modes)
    code, _, err = run_cli(capsys, "train", corpus, "-o", tmp_path / "r", "--force", *TINY)
    one_line_error(code, err, "read-only")
    assert snapshot(tmp_path / "r") == before


def test_sigterm_saves_a_checkpoint(tmp_path, corpus):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rnntext", "train", str(corpus), "-o", str(run), "--max-iters",
                             "1000000", "--checkpoint-every", "20", *TINY], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (run / "trainer.json").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert out.startswith("stopped by SIGTERM: checkpoint saved at iteration") and len(out.strip().splitlines()) == 1
    saved = int(out.split("iteration ")[1].split(";")[0])
    assert json.loads((run / "trainer.json").read_text())["iteration"] == saved > 0


def test_metrics_lines_are_whole_or_absent(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    append_line(path, '{"iter": 1}\n')
    with open(path, "a") as f:
        f.write('{"iter": 2, "lo')  # torn by a crash
    append_line(path, '{"iter": 3}\n')
    assert path.read_text() == '{"iter": 1}\n{"iter": 3}\n'
    import rnntext.data.atomic as atomic

    monkeypatch.setattr(atomic.os, "write", lambda fd, data: os.ftruncate(fd, 10**6) or 5)  # a short write
    with pytest.raises(WriteError, match="short write"):
        append_line(path, '{"iter": 4}\n')
    monkeypatch.undo()
    assert path.read_text() == '{"iter": 1}\n{"iter": 3}\n'


def test_resume_after_a_torn_metrics_line(tmp_path, capsys, corpus):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "4", "--log-every", "1", *TINY)[0] == 0
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(b'{"iter": 5, "train_lo')  # the disk filled mid-line
    code, _, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "6", "--quiet")
    assert code == 0, err
    iters = [json.loads(line)["iter"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert iters == [1, 2, 3, 4, 4, 5, 6, 6]  # each session ends with a validation line


@pytest.mark.parametrize("value", ["[a-z \x01]", "tab\there \x7f \x1b[0m \\ \" \u2028 é"])
def test_every_value_written_to_config_toml_reads_back(value):
    cfg = merge(Config(), {"data": {"keep": value}})
    text = to_toml(cfg)
    assert "\x01" not in text and "\x7f" not in text and "\x1b" not in text
    assert merge(Config(), tomllib.loads(text)).data.keep == value


def test_resume_with_control_characters_in_keep(tmp_path, capsys, corpus):
    (tmp_path / "c.toml").write_text('[data]\nkeep = "[a-z .\\u0001]"\n')
    run = tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "--config", tmp_path / "c.toml", "-o", run, "--max-iters", "2", *TINY)[0] == 0
    assert read_toml(run / "config.toml")["data"]["keep"] == "[a-z .\x01]"
    code, out, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "3", "--quiet")
    assert code == 0 and out.startswith("3 iterations"), err


def test_resume_of_a_run_killed_before_its_first_checkpoint(tmp_path, capsys, corpus):
    ref, run = tmp_path / "ref", tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "-o", ref, "--max-iters", "4", "--lr", "0.01", *TINY)[0] == 0
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "4", "--lr", "0.01", *TINY)[0] == 0
    for name in ("model.safetensors", "best.safetensors", "trainer.safetensors", "trainer.json", "model.json"):
        (run / name).unlink(missing_ok=True)  # what a run killed before its first checkpoint leaves
    code, _, err = run_cli(capsys, "sample", run)
    one_line_error(code, err, "--resume")
    code, out, err = run_cli(capsys, "train", "-o", run, "--resume", "--quiet")
    assert code == 0 and out.startswith("4 iterations"), err  # the recorded run, from its recorded inputs
    got, want = load_file(str(run / "model.safetensors")), load_file(str(ref / "model.safetensors"))
    assert all(np.array_equal(got[k], want[k]) for k in want)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["iter"] for x in lines] == [x["iter"] for x in map(json.loads, (ref / "metrics.jsonl").read_text().splitlines())]


def test_resume_refuses_other_inputs_and_data_options(tmp_path, capsys, corpus):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "2", *TINY)[0] == 0
    other = tmp_path / "other.txt"
    other.write_text("something else entirely\n" * 50)
    before = snapshot(run)
    code, _, err = run_cli(capsys, "train", other, "-o", run, "--resume", "--max-iters", "4")
    one_line_error(code, err, f"{run} was trained on {corpus}", "drop")
    code, _, err = run_cli(capsys, "train", "-o", run, "--resume", "--level", "word", "--max-iters", "4")
    one_line_error(code, err, "other data options (level 'char' -> 'word')")
    assert snapshot(run) == before
    code, out, err = run_cli(capsys, "train", corpus, "-o", run, "--resume", "--max-iters", "3", "--quiet")
    assert code == 0 and out.startswith("3 iterations"), err  # the same input named again is fine
    assert 'level = "char"' in (run / "config.toml").read_text()


def test_an_ended_cosine_is_refit_or_refused(tmp_path, capsys, corpus, caplog):
    run = tmp_path / "run"
    common = ["--lr-schedule", "cosine", "--cosine-iters", "3", "--lr", "0.01", "--log-every", "1"]
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "5", *common, *TINY)[0] == 0
    before = snapshot(run)
    code, _, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "8")
    one_line_error(code, err, "ended at iteration 3", "learning rate of 0", "--time-limit")
    assert snapshot(run) == before
    code, _, err = run_cli(capsys, "train", "-o", run, "--resume", "--max-iters", "8", "--time-limit", "60", "--quiet")
    assert code == 0, err
    assert "ended at iteration 3; from iteration 5 it follows --time-limit 60s" in caplog.text
    lrs = [json.loads(x)["lr"] for x in (run / "metrics.jsonl").read_text().splitlines() if "lr" in json.loads(x)]
    # the new cosine runs over the 60 s budget: three quick iterations are still at its peak
    assert lrs[:5] == pytest.approx([0.01, 0.01 * 0.75, 0.01 * 0.25, 0.0, 0.0])
    assert lrs[5:] == pytest.approx([0.01] * 3, rel=1e-3) and lrs[5] >= lrs[6] >= lrs[7]


def test_damaged_and_foreign_weights_are_one_line_errors(tmp_path, capsys, corpus):
    run = tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "2", *TINY)[0] == 0
    info = json.loads((run / "model.json").read_text())
    info["model"]["hidden_size"] = ["x"]
    (run / "model.json").write_text(json.dumps(info))
    one_line_error(*run_cli(capsys, "sample", run)[::2], "model.json is damaged", "hidden_size")
    info["model"]["hidden_size"] = [8]
    (run / "model.json").write_text(json.dumps(info))
    weights = load_file(str(run / "model.safetensors"))
    weights["output.bias"][0] = np.nan
    save_file(weights, str(run / "model.safetensors"))  # no checksum: a file another tool wrote
    one_line_error(*run_cli(capsys, "sample", run)[::2], "output.bias holds NaN")
    one_line_error(*run_cli(capsys, "eval", run, corpus)[::2], "output.bias holds NaN")
