"""What training says while it runs: the plan first (what it chose and why), progress from the
first step whatever the preset, the Python API's progress callback, a bar in notebooks, and
`rnntext info` repeating the plan with how long the run trained."""

import io
import json
import sys
import types

import pytest

import rnntext
from rnntext import progress
from rnntext.cli import main
from rnntext.config import preset_names
from rnntext.progress import TrainDisplay
from rnntext.training import autosize

TINY = dict(num_layers=1, hidden_size=(16,), embed_size=8, seq_len=8, batch_size=4, sample_every=0)


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_shows_progress_from_the_first_step(tmp_path, corpus, preset):
    # The presets' own log_every (100 for Caffe, 1,000 for TensorFlow) once meant a run of slow
    # steps (250 streams) showed nothing for minutes: now the first step is a line, and then
    # one at least every HEARTBEAT_S seconds.
    out = io.StringIO()
    one_hot = preset in ("keras-chars", "keras-captions")
    rnntext.train(corpus, tmp_path / "run", preset=preset, progress=TrainDisplay(mode="lines", out=out), max_iters=3,
                  time_limit=0, epochs=0, **{**TINY, "embed_size": 0 if one_hot else 16})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("model: 1 x 16 ") and lines[1].startswith("training: batch 4 x 8 steps")
    assert lines[1].endswith("; stops at 3 iterations")
    assert lines[2].startswith("iter 1 epoch 0.0") and "(this step)" in lines[2]


def test_a_heartbeat_line_when_log_lines_are_far_apart(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.0)
    out = io.StringIO()
    rnntext.train(corpus, tmp_path / "run", progress=TrainDisplay(mode="lines", out=out), max_iters=5, log_every=100,
                  **TINY)
    steps = [line for line in out.getvalue().splitlines() if "(this step)" in line]
    assert [line.split()[1] for line in steps] == ["1", "2", "3", "4", "5"]


def test_the_progress_callback_gets_every_event_in_order(tmp_path, corpus):
    events = []
    result = rnntext.train(corpus, tmp_path / "run", progress=events.append, max_iters=6, eval_every=3, log_every=2,
                           **TINY)
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["plan", "start"] and kinds[-1] == "end" and events[-1]["result"] == result
    assert [e["iter"] for e in events if e["kind"] == "step"] == [1, 2, 3, 4, 5, 6]
    assert [e["iter"] for e in events if e["kind"] == "log"] == [2, 4, 6]
    assert [e["iter"] for e in events if e["kind"] == "val"] == [3, 6]
    plan = events[0]
    assert plan["parameters"] == rnntext.load(tmp_path / "run").summary()["total_parameters"]
    assert plan["model"]["hidden_sizes"] == [16] and plan["train"]["batch_size"] == 4
    assert plan["stopping"] == {"time_limit": 0.0, "max_iters": 6, "epochs": 0.0, "early_stop": 0, "eval_every": 3,
                                "eval_every_epochs": 0.0, "default": False}
    with pytest.raises(rnntext.errors.ConfigError, match="progress: give a callable"):
        rnntext.train(corpus, tmp_path / "other", progress="yes", max_iters=1, **TINY)


def test_the_plan_gives_the_auto_choices_and_the_probe_speed_and_info_repeats_it(tmp_path, corpus, capsys,
                                                                                 monkeypatch):
    monkeypatch.setattr(autosize, "probe_speed", lambda cfg, vocab_size, hidden, budget_s=1.0: {2: 5_000.0, 1: 12_345.0})
    run = tmp_path / "run"
    code = main(["train", str(corpus), "-o", str(run), "--time-limit", "20", "--max-iters", "4", "--num-layers", "1",
                 "--embed-size", "8", "--seq-len", "8", "--batch-size", "4", "--sample-every", "0"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    recipe = json.loads((run / "model.json").read_text())["training"]["recipe"]
    size = recipe["hidden_size"]
    assert size == 64 and recipe["tokens_per_s"] == {"64": 12345}  # 8.4k characters allow 1x64 (19k parameters)
    params = rnntext.load(run).summary()["total_parameters"]
    assert out[0].startswith(f"model: 1 x 64 lstm, embedding 8, {params:,} parameters (auto: the largest with at "
                             f"most 8 recurrent parameters per training token")
    assert "this machine's probe measured 12,345 tokens/s at 64 (1 thread)" in out[0]
    assert f"dropout {recipe['dropout']:g}, weight drop {recipe['weight_drop']:g} (auto, for" in out[0]
    assert out[1].startswith("training: batch 4 x 8 steps, adamw lr 0.003, cosine over the time limit (reaching its floor at the "
                             "deadline), "
                             "threads auto") and out[1].endswith("stops after 20 s or at 4 iterations")
    assert main(["info", str(run)]) == 0
    info = capsys.readouterr().out
    seconds = json.loads((run / "model.json").read_text())["training"]["elapsed_s"]
    assert out[0] in info and out[1] in info
    assert "trained 4 iterations (" in info and f" in {round(seconds)} s;" in info


def test_a_notebook_gets_a_text_bar_and_a_script_gets_nothing(tmp_path, corpus, capsys, monkeypatch):
    rnntext.train(corpus, tmp_path / "quiet", max_iters=3, **TINY)
    assert capsys.readouterr().out == ""  # a library call in a script prints nothing unless asked
    kernel = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel))
    assert progress.in_notebook()
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)
    rnntext.train(corpus, tmp_path / "notebook", max_iters=4, log_every=2, **TINY)
    out = capsys.readouterr().out
    assert out.startswith("model: 1 x 16 lstm")
    bars = [part for part in out.split("\r") if part.startswith("[")]
    assert bars[-1].startswith("[" + "#" * progress.BAR_WIDTH + "] 100% iter 4/4 loss ")
    assert any(part.startswith("[" + "#" * (progress.BAR_WIDTH // 4)) and " 25% iter 1/4" in part for part in bars)
    assert out.endswith("\n")
    rnntext.train(corpus, tmp_path / "off", max_iters=2, progress=False, **TINY)
    assert capsys.readouterr().out == ""


def test_a_record_from_before_the_plan_is_still_described():
    from rnntext.training.plan import describe

    old = {"hidden_size": 128, "rule": "data", "train_tokens": 95000, "dropout": 0.2, "weight_drop": 0.1,
           "recurrent_params_per_token": 2.436}
    assert describe(old) == ["model: auto size 128 (auto: the largest with at most 8 recurrent parameters per training "
                             "token, 95,000 tokens; without --time-limit at most 256); dropout 0.2, weight drop 0.1 "
                             "(auto, for 2.44 recurrent parameters per training token)"]
    assert describe({"dropout": 0.1, "weight_drop": 0.0, "recurrent_params_per_token": 0.5}) == [
        "model: size given; dropout 0.1, weight drop 0 (auto, for 0.5 recurrent parameters per training token)"]
