"""A time-limited run stopped part-way and resumed, against the same run uninterrupted.

Trains `rnntext train TEXT -o RUN --time-limit T --hidden-size H --seed S` twice from the
command line, as a user would: once whole, once interrupted (SIGINT, Ctrl-C) `--stop-at`
seconds after it started and then resumed with `rnntext train -o RUN --resume --time-limit
T-stop`, the command the interrupt suggests. Both are scored on the run's own test split with
`rnntext eval --precision float32`, and the learning rates they logged are compared: the
resumed run must follow the whole one's schedule (the cosine over the time budget) and end
within a few hundredths of a nat of it. Then the finished whole run is resumed with `--time-limit
--more`: its rate must restart above the floor and anneal again. Prints one JSON line with the
machine.

    .venv/bin/python benchmarks/resume_budget.py [--time-limit 60] [--stop-at 20] [--chars 160000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnntext import hardware

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
RNNTEXT = [sys.executable, "-m", "rnntext"]


def train(args: list[str], stop_at: float | None = None) -> tuple[int, float]:
    """Run `rnntext train ARGS`; with stop_at, send SIGINT that many seconds after the start."""
    start = time.monotonic()
    proc = subprocess.Popen([*RNNTEXT, "train", *args, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if stop_at is not None:
        try:
            proc.wait(timeout=stop_at)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    if proc.returncode not in (0, 130):
        raise SystemExit(f"rnntext train {' '.join(args)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return proc.returncode, time.monotonic() - start


def score(run: Path) -> dict:
    out = subprocess.run([*RNNTEXT, "eval", str(run), "--precision", "float32", "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def lrs(run: Path) -> list[tuple[int, float, float]]:
    """(iteration, lr, seconds since the first session began) of every metrics line."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [(r["iter"], r["lr"], r["elapsed_s"]) for r in rows if "lr" in r]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", default=str(CORPORA / "tinyshakespeare.txt"))
    parser.add_argument("--chars", type=int, default=160_000, help="the first this many characters: a novel's size")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--stop-at", type=float, default=20.0)
    parser.add_argument("--hidden-size", default="128")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--more", type=float, default=30.0, help="then resume the finished whole run this long")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resume-budget-") as tmp:
        tmp = Path(tmp)
        text = tmp / "novel.txt"
        text.write_text(Path(args.text).read_text(encoding="utf-8")[:args.chars], encoding="utf-8")
        common = ["--hidden-size", args.hidden_size, "--seed", args.seed, "--sample-every", "0", "--test-frac", "0.05"]
        whole, parts = tmp / "whole", tmp / "parts"
        _, whole_s = train([str(text), "-o", str(whole), "--time-limit", str(args.time_limit), *common])
        code, first_s = train([str(text), "-o", str(parts), "--time-limit", str(args.time_limit), *common],
                              stop_at=args.stop_at)
        rest = args.time_limit - args.stop_at
        _, second_s = train(["-o", str(parts), "--resume", "--time-limit", str(rest)])
        scores = {name: score(run) for name, run in (("whole", whole), ("resumed", parts))}
        rates = {name: lrs(run) for name, run in (("whole", whole), ("resumed", parts))}
        state = json.loads((parts / "trainer.json").read_text())
        # the finished whole run given more time: it must train on, not sit at the floor rate
        done = len(rates["whole"])
        _, more_s = train(["-o", str(whole), "--resume", "--time-limit", str(args.more)])
        more = lrs(whole)[done:]
        extended = {"time_limit_s": args.more, "test_loss": round(score(whole)["loss"], 4),
                    "first_logged_lr_share": None, "last_logged_lr_share": None}
    peak = max(r[1] for r in rates["whole"])
    if more:
        extended.update(first_logged_lr_share=round(more[0][1] / peak, 4), last_logged_lr_share=round(more[-1][1] / peak, 5),
                        iterations=more[-1][0] - rates["whole"][-1][0])
    print(json.dumps({
        "benchmark": "resume_budget", "machine": hardware.describe(), "cpu_load": os.getloadavg()[0],
        "time_limit_s": args.time_limit, "stopped_at_s": args.stop_at, "interrupted": code == 130,
        "wall_s": {"whole": round(whole_s, 1), "first": round(first_s, 1), "resumed": round(second_s, 1)},
        "test_loss": {name: round(s["loss"], 4) for name, s in scores.items()},
        "difference": round(scores["resumed"]["loss"] - scores["whole"]["loss"], 4),
        "iterations": {"whole": rates["whole"][-1][0] if rates["whole"] else 0, "resumed": state["iteration"]},
        "last_logged_lr_share": {name: round(r[-1][1] / peak, 4) if r else None for name, r in rates.items()},
        "floor_logged_before_the_last_3pct": {name: sum(lr <= 1e-3 * peak for _, lr, t in r if t < 0.97 * args.time_limit)
                                              for name, r in rates.items()},
        "finished_run_given_more": extended,
    }))


if __name__ == "__main__":
    main()
