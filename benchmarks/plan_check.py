"""Does the plan line hold? The passes over the training split the plan predicted, against the
passes the run made, idle and with a busy loop on one core.

For each case (a text, a time limit) and each machine state, runs `rnntext train TEXT -o RUN
--time-limit T` as a user would (the default recipe), reads the run's record and prints one
JSON line: the size chosen, the probe's speeds and thread counts, the passes predicted and
made (and their ratio, which must stay within 1.5 either way), the thread counts the trainer
timed, what it said when the speed was off the plan, and the learning rates logged in the last
3% of the budget and before it. The busy state runs the command under
../shared/tools/busy-core (a `yes` pinned to the last core for the whole run); the mid state
starts such a busy loop at 30% of the time limit and ends it at 60% (a speed change mid-run).

    .venv/bin/python benchmarks/plan_check.py [--cases shakespeare:120,novel:100] [--states idle,busy,mid]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnntext import hardware

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
BUSY = CORPORA.parent / "tools" / "busy-core"
TEXTS = {"shakespeare": None, "novel": 160_000}  # characters of tinyshakespeare: all (1.1 MB), or a novel's


def run_case(text: Path, seconds: float, state: str, run: Path) -> dict:
    command = [sys.executable, "-m", "rnntext", "train", str(text), "-o", str(run), "--time-limit", str(seconds),
               "--quiet", "--sample-every", "0"]
    if state == "busy":
        command = [str(BUSY), *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if state == "mid":  # a core taken at 30% of the limit and given back at 60%
        time.sleep(0.3 * seconds)
        loop = subprocess.Popen(["taskset", "-c", str(os.cpu_count() - 1), "yes"], stdout=subprocess.DEVNULL)
        time.sleep(0.3 * seconds)
        loop.kill()
    if proc.wait() != 0:
        raise SystemExit(f"rnntext train failed: {proc.stderr.read().decode()[-500:]}")
    info = json.loads((run / "model.json").read_text())["training"]
    recipe = info["recipe"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    logs = [r for r in rows if "lr" in r]
    peak = max(r["lr"] for r in logs)
    floor_from = 0.97 * seconds
    made, planned = info["epoch"], recipe.get("expected_epochs")
    return {"hidden_size": recipe["model"]["hidden_sizes"], "probe_tokens_per_s": recipe.get("tokens_per_s"),
            "probe_threads": recipe.get("probe_threads"), "planned_epochs": planned, "epochs": round(made, 2),
            "made_over_planned": round(made / planned, 3) if planned else None,
            "threads": info.get("threads"), "paces": recipe.get("paces"), "iterations": info["iterations"],
            "dropout": recipe["model"]["dropout"], "weight_drop": recipe["model"]["weight_drop"],
            "lowest_lr_share_before_last_3pct": round(min((r["lr"] for r in logs if r["elapsed_s"] < floor_from),
                                                          default=peak) / peak, 4),
            "last_lr_share": round(logs[-1]["lr"] / peak, 5), "last_log_s": logs[-1]["elapsed_s"],
            "elapsed_s": info["elapsed_s"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="shakespeare:120,novel:100")
    parser.add_argument("--states", default="idle,busy,mid")
    args = parser.parse_args()
    source = (CORPORA / "tinyshakespeare.txt").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="plan-check-") as tmp:
        for case in args.cases.split(","):
            name, seconds = case.split(":")
            text = Path(tmp) / f"{name}.txt"
            text.write_text(source[:TEXTS[name]], encoding="utf-8")
            for state in args.states.split(","):
                if state == "busy" and not BUSY.exists():
                    print(f"busy: {BUSY} is absent (it lives beside the project); skipped", file=sys.stderr)
                    continue
                row = run_case(text, float(seconds), state, Path(tmp) / f"{name}-{state}")
                print(json.dumps({"benchmark": "plan_check", "text": name, "chars": len(source[:TEXTS[name]]),
                                  "time_limit_s": float(seconds), "state": state, **row,
                                  "machine": hardware.describe()}), flush=True)


if __name__ == "__main__":
    main()
