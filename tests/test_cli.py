"""The CLI run in-process on tmp_path: outputs, and one-line errors with exit status 2."""

import json

import pytest

from rnntext.cli import main

TINY = ["--num-layers", "1", "--hidden-size", "16", "--embed-size", "8", "--seq-len", "8", "--batch-size", "4",
        "--sample-every", "0", "--quiet"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0]


def test_prepare_writes_dataset_and_summary(tmp_path, capsys, corpus):
    code, out, _ = run_cli(capsys, "prepare", corpus, "-o", tmp_path / "d.h5", "--val-frac", "0.1")
    assert code == 0
    assert "read 8,880 characters" in out and "vocabulary: 30 tokens" in out and "train 7,992, val 888, test 0" in out
    assert (tmp_path / "d.h5").is_file()


@pytest.mark.parametrize("case", ["missing", "empty", "filtered", "utf8", "outdir", "fractions", "negative", "exists"])
def test_prepare_bad_inputs(tmp_path, capsys, corpus, case):
    out = tmp_path / "d.h5"
    args = {"missing": [tmp_path / "nope.txt", "-o", out],
            "empty": [tmp_path / "empty.txt", "-o", out],
            "filtered": [corpus, "-o", out, "--keep", "[0-9]"],
            "utf8": [tmp_path / "bad.txt", "-o", out],
            "outdir": [corpus, "-o", tmp_path],
            "fractions": [corpus, "-o", out, "--val-frac", "0.5", "--test-frac", "0.5"],
            "negative": [corpus, "-o", out, "--val-frac", "-0.1"],
            "exists": [corpus, "-o", out]}[case]
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xc3\x28")
    if case == "exists":
        out.write_bytes(b"keep me")
    code, _, err = run_cli(capsys, "prepare", *args)
    expected = {"missing": "does not exist", "empty": "empty", "filtered": "empty after filtering",
                "utf8": "bad.txt is not valid utf-8 at byte 3", "outdir": "is a directory",
                "fractions": "below 1", "negative": "val_frac", "exists": "--force"}[case]
    assert_one_line_error(code, err, expected)
    assert not out.exists() or out.read_bytes() == b"keep me"


def test_train_writes_run_and_info(tmp_path, capsys, corpus):
    run = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "12", "--eval-every", "6", *TINY)
    assert code == 0 and "12 iterations" in out
    assert json.loads((run / "model.json").read_text())["training"]["iterations"] == 12
    code, out, _ = run_cli(capsys, "info", run)
    assert code == 0 and "lstm_0" in out and "(B, T, 16)" in out and "total" in out
    # every bad train input: one line, status 2, the run untouched
    before = (run / "model.safetensors").read_bytes()
    for argv, fragment in [
        (["train", corpus, "-o", run, *TINY], "not empty"),
        (["train", "-o", run, "--resume", "--hidden-size", "32"], "another architecture"),
        (["train", corpus, "-o", tmp_path / "r2", "--batch-size", "5000"], "--batch-size"),
        (["train", corpus, "-o", tmp_path / "r3", "--lr", "-1"], "lr: must be a positive number"),
        (["train", corpus, "-o", tmp_path / "r4", "--hidden-size", "8,8,8"], "hidden_size"),
        (["train", corpus, "-o", tmp_path / "r5", "--cell", "transformer"], "cell: 'transformer' is not one of"),
        (["train", corpus, "-o", tmp_path / "r6", "--preset", "nope"], "unknown preset"),
        (["info", tmp_path / "nothing"], "does not exist"),
    ]:
        code, _, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, fragment)
    assert (run / "model.safetensors").read_bytes() == before


def test_config_file_precedence(tmp_path, capsys, corpus):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[model]\nhidden_size = 12\nnum_layers = 1\n[train]\nlr = 0.01\nmax_iters = 3\n")
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", corpus, "-o", run, "--config", cfg, "--lr", "0.02", "--embed-size", "4",
                           "--seq-len", "8", "--batch-size", "2", "--quiet", "--sample-every", "0")
    assert code == 0, err
    text = (run / "config.toml").read_text()
    assert "hidden_size = [12]" in text and "lr = 0.02" in text and "max_iters = 3" in text
    cfg.write_text("[train]\nlearning_rate = 0.1\n")
    code, _, err = run_cli(capsys, "train", corpus, "-o", tmp_path / "x", "--config", cfg)
    assert_one_line_error(code, err, "learning_rate")


def test_export_caffe_round_trip_and_onnx(tmp_path, capsys, corpus):
    data = tmp_path / "d.h5"
    assert main(["prepare", str(corpus), "-o", str(data), "--val-frac", "0"]) == 0
    code, out, _ = run_cli(capsys, "export", "caffe-hdf5", data, "-o", tmp_path / "caffe", "--streams", "4",
                           "--steps", "50")
    assert code == 0 and "4 streams x 44 windows of 50 steps" in out
    code, out, _ = run_cli(capsys, "prepare", "--from", "caffe-hdf5", tmp_path / "caffe" / "list.txt", "-o",
                           tmp_path / "back.h5", "--val-frac", "0")
    assert code == 0 and "read 8,801 tokens" in out
    code, _, err = run_cli(capsys, "export", "caffe-hdf5", data, "-o", tmp_path / "caffe", "--streams", "4",
                           "--steps", "50")
    assert_one_line_error(code, err, "force")
    code, _, err = run_cli(capsys, "export", "caffe-hdf5", data, "-o", tmp_path / "c2")
    assert_one_line_error(code, err, "250 streams x 200 steps need at least 50001")


def test_info_says_how_each_thread_count_was_chosen(tmp_path, capsys, corpus, monkeypatch):
    from rnntext.trained import Model

    run = tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "2", *TINY)[0] == 0
    summary = Model.summary
    choices = [{"threads": 2, "tokens_per_s": {"2": 47032}, "trial": False, "other_cores": 0.02},
               {"threads": 1, "tokens_per_s": {"2": 10000, "1": 25000}, "trial": True, "other_cores": 0.8},
               {"threads": 2, "tokens_per_s": {"2": 30000, "1": 20000}}]  # a later trial, as older runs record
    monkeypatch.setattr(Model, "summary", lambda self: {**summary(self), "threads": choices})
    code, out, _ = run_cli(capsys, "info", run)
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("threads:")] == [
        "threads: 2 (2: 47,032 tokens/s; other processes used 0.02 cores: no trial)",
        "threads: timed 2: 10,000 tokens/s, 1: 25,000 tokens/s; kept 1",
        "threads: timed 2: 30,000 tokens/s, 1: 20,000 tokens/s; kept 2"]


def test_the_process_leaves_at_once_with_everything_written_and_its_status(tmp_path, capsys, corpus):
    """`python -m rnntext` ends with os._exit once torch is loaded (skipping its slow teardown):
    the output is all there, a mistake still exits 2, and a reader that leaves early is no error."""
    import subprocess
    import sys

    run = tmp_path / "run"
    assert run_cli(capsys, "train", corpus, "-o", run, "--max-iters", "2", *TINY)[0] == 0
    argv = ["sample", str(run), "--seed", "4", "--length", "3000", "--num-samples", "3", "--engine", "torch"]
    usual = [sys.executable, "-c", "import sys; from rnntext.cli import main; sys.exit(main())"]  # the usual exit
    expected = subprocess.run([*usual, *argv], capture_output=True, text=True, timeout=120)
    assert expected.returncode == 0 and len(expected.stdout) > 9000
    cmd = [sys.executable, "-m", "rnntext"]
    done = subprocess.run([*cmd, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == expected.stdout
    wrong = subprocess.run([*cmd, *argv, "--temperature", "-1"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and wrong.stdout == "" and len(wrong.stderr.strip().splitlines()) == 1
    short = subprocess.run(f"{' '.join(cmd + argv)} | head -c 10", shell=True, capture_output=True, text=True,
                           timeout=120)
    assert short.returncode == 0 and len(short.stdout) == 10 and "Traceback" not in short.stderr
