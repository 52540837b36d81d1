"""metrics.jsonl has one reader: resume and `rnntext plot` skip the same torn and damaged lines."""

import json
import logging

import pytest

from rnntext.cli import main
from rnntext.model.records import truncate_metrics
from rnntext.training.plot import curve_records

GOOD = [{"iter": 5, "epoch": 0.1, "lr": 0.002, "train_loss": 3.5, "tokens_per_s": 900.0, "elapsed_s": 1.0},
        {"iter": 10, "epoch": 0.2, "lr": 0.002, "train_loss": 3.1, "tokens_per_s": 950.0, "elapsed_s": 2.0},
        {"iter": 10, "val_loss": 3.2, "val_accuracy": 0.2, "val_bpc": 4.6, "best": True},
        {"iter": 15, "epoch": 0.3, "lr": 0.001, "train_loss": 2.9, "tokens_per_s": 990.0, "elapsed_s": 3.0}]
GARBAGE = [b"5", b"[1, 2]", b"not json at all", b'{"iter": 7, "train_loss": 1.0, "bad": "\xff\xfe"}',
           b'"a string"', b"null", b"", b"   "]
TORN = b'{"iter": 20, "epoch": 0.4, "lr": 0.001, "train_loss": 2.8, "note": "\xc3'  # cut inside "é", no newline


def damaged_metrics(folder):
    lines = [json.dumps(r).encode() for r in GOOD]
    body = [lines[0], GARBAGE[0], lines[1], *GARBAGE[1:4], lines[2], *GARBAGE[4:], lines[3]]
    (folder / "metrics.jsonl").write_bytes(b"\n".join(body) + b"\n" + TORN)
    return folder / "metrics.jsonl"


def test_plot_reads_what_resume_keeps(tmp_path, caplog):
    path = damaged_metrics(tmp_path)
    with caplog.at_level(logging.WARNING):
        train, val = curve_records(tmp_path)
    assert train == [GOOD[0], GOOD[1], GOOD[3]] and val == [GOOD[2]]
    assert "skipping 7 unreadable line(s)" in caplog.text  # 6 garbage lines and the torn one; blank ones are not counted
    truncate_metrics(tmp_path, iteration=10**6)  # what a resume keeps of the same file
    assert path.read_bytes() == b"".join(json.dumps(r).encode() + b"\n" for r in GOOD)
    assert curve_records(tmp_path) == (train, val)


def test_records_of_the_wrong_shape_are_skipped_not_fatal(tmp_path):
    odd = [{"iter": "5", "train_loss": 1.0}, {"train_loss": 1.0}, {"iter": 3, "train_loss": None},
           {"iter": True, "val_loss": 1.0}, {"iter": 4, "val_loss": "low"}, GOOD[0]]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in odd))
    assert curve_records(tmp_path) == ([GOOD[0]], [])


def test_plot_command_draws_a_run_with_a_torn_last_line(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    damaged_metrics(tmp_path)
    assert main(["plot", str(tmp_path), "-o", str(tmp_path / "c.png")]) == 0, capsys.readouterr().err
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_truncate_drops_lines_after_the_checkpoint(tmp_path):
    path = damaged_metrics(tmp_path)
    truncate_metrics(tmp_path, iteration=10)
    assert [json.loads(x) for x in path.read_text().splitlines()] == GOOD[:3]
    truncate_metrics(tmp_path / "absent", 3)  # no file: nothing to do, nothing made
    assert not (tmp_path / "absent").exists()
