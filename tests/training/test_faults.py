"""Faults lose nothing (a shortened benchmarks/faults.py, whose harness this imports): a full
disk at every kind of write, SIGTERM inside a training step and inside a checkpoint write,
SIGKILL while a checkpoint is written and SIGTERM at a random moment of a training process.
Each is followed by a resume (or a retried prepare) that must end as the uninterrupted run
ends: the same weights, the same metrics lines, no file lost on the way. A second writer beside
a live run is refused and its killed holder's lock blocks nothing; symbolic links in a run are
refused or left alone, their targets untouched; a job line (--resume, which starts the run where
there is none) killed in its first moments ends, run again, as an uninterrupted run."""

import random
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("torch")


# the benchmark's own harness, run as a module of functions (benchmarks/ is no package)
F = SimpleNamespace(**runpy.run_path(str(Path(__file__).resolve().parents[2] / "benchmarks" / "faults.py")))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    text = F.corpus(root)
    return root, text, F.reference(root, text, F.ITERS, in_process=True)


def test_a_full_disk_while_preparing_keeps_the_old_dataset(lab):
    root, text, _ = lab
    result = F.disk_full_in_prepare(root, text, 0.5)
    assert result == {"kind": "dataset", "fraction": 0.5, "hit": True, "one_line_error": True, "lost": 0,
                      "difference": ""}


@pytest.mark.parametrize(("kind", "nth", "phase"), F.disk_full_cases(quick=True))
def test_a_full_disk_at_every_kind_of_write(lab, kind, nth, phase):
    root, text, ref = lab
    result = F.disk_full_in_training(root, text, ref, kind, nth, phase)
    assert result["hit"] and result["one_line_error"] and result["lost"] == 0, result
    assert result["difference"] == "", result


@pytest.mark.parametrize(("moment", "nth"), F.MOMENTS)
def test_sigterm_inside_a_step_or_a_save_resumes_exactly(lab, moment, nth):
    root, text, ref = lab
    result = F.signal_in_process(root, text, ref, moment, nth)
    assert result["hit"] and result["returncode"] == 143 and result["lost"] == 0, result
    # the iteration the signal came in is finished first (the second checkpoint is iteration 20's)
    assert result["stopped_at"] == {"backward": nth, "step": nth, "checkpoint": 20}[moment]
    assert result["difference"] == "", result


def test_sigkill_mid_checkpoint_and_sigterm_at_a_random_moment(lab):
    root, text, _ = lab
    ref = F.reference(root, text, F.ITERS * 5, in_process=True)
    plan = [("SIGKILL", "write"), ("SIGTERM", "training")]
    kill, term = F.signal_chain(root, text, ref, plan, random.Random(3), seconds=1.0)
    assert kill["hit"] and kill["returncode"] == -9 and kill["mid_write"], kill  # the temporary file stayed
    assert term["hit"] and term["returncode"] == 143, term
    assert kill["lost"] == term["lost"] == 0
    assert kill["difference"] == "", kill


def test_a_second_writer_is_refused_and_a_killed_holder_blocks_nothing(lab):
    root, text, _ = lab
    ref = F.reference(root, text, F.ITERS * 5, in_process=False)
    results = F.concurrent_writers(root, text, ref)
    assert [r["kind"] for r in results] == ["writer-train", "writer-force", "writer-resume", "writer-resume-input",
                                             "writer-stale-lock"]
    assert all(r["hit"] and r["lost"] == 0 and r["difference"] == "" for r in results), results
    assert all(r["refused"] for r in results[:4])


def test_links_in_a_run_are_refused_or_left_alone(lab):
    root, text, _ = lab
    results = F.symlink_cases(root, text, quick=True)
    assert len(results) == 4 and all(r["target_untouched"] and r["difference"] == "" for r in results), results
    assert [r["refused"] for r in results] == [True, True, False, True]


@pytest.mark.parametrize(("moment", "seed"), [("start", 0), ("start", 1), ("lock", 0), ("prepare", 0)])
def test_a_job_line_killed_early_ends_as_an_uninterrupted_run(lab, moment, seed):
    # "start": SIGKILL at a seeded moment of the first second (before or after the lock, the record, ...)
    root, text, _ = lab
    ref = F.reference(root, text, F.ITERS, in_process=False)
    result = F.early_kill(root, text, ref, moment, random.Random(seed))
    assert result["hit"] and result["difference"] == "", result
