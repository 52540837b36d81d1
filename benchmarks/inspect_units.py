"""Interpretable units after training: does the default recipe grow cells that track bracket depth or
the position in the line (Karpathy, Johnson and Fei-Fei 2015 found such cells)?

Trains the default recipe for --time-limit seconds on the built-in python-docs corpus or on
../shared/corpora/tinyshakespeare.txt (the last 5% as validation), then searches the validation
split for the units that track each feature (rnntext.inspection) and prints one JSON line: the
machine, the command, the run's size and loss, and per feature its best units with their
correlation, with whether a unit reaches |r| >= 0.5 for bracket depth or line position.
--page writes the inspection page too (tools/inspect_screenshot.py makes a PNG of it).

    .venv/bin/python benchmarks/inspect_units.py --corpus python-docs --time-limit 600 --page inspect.html
    .venv/bin/python benchmarks/inspect_units.py --run RUN --page inspect.html   # a run trained elsewhere
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import rnntext
from rnntext import hardware

SHAKESPEARE = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "tinyshakespeare.txt"
CORPORA = {"python-docs": "python-docs", "tinyshakespeare": SHAKESPEARE}
TARGET = ("depth", "line_pos")  # the measured claim: one unit with |r| >= 0.5 for one of these


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=list(CORPORA), default="python-docs")
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--out", help="run directory to keep (default: a temporary one)")
    parser.add_argument("--run", help="inspect this run directory instead of training one (e.g. one that "
                                      "benchmarks/quality.py --keep left)")
    parser.add_argument("--page", help="also write the inspection page here")
    parser.add_argument("--max-tokens", type=int, default=None, help="search at most this many tokens "
                                                                     "(default: rnntext inspect's)")
    args = parser.parse_args()
    corpus = CORPORA[args.corpus]
    if isinstance(corpus, Path) and not corpus.is_file():
        print(json.dumps({"benchmark": "inspect_units", "skipped": f"{corpus} is not present"}))
        return
    start = time.time()
    if args.run:
        run = Path(args.run)
    else:
        run = Path(args.out or tempfile.mkdtemp(prefix="inspect-units-")) / "run"
        rnntext.train(str(corpus), run, force=True, val_frac=0.05, time_limit=args.time_limit, quiet=True,
                      sample_every=0, progress=False)
    model = rnntext.load(run, weights="best")
    trained = model.info.training
    from rnntext.inspection import MAX_TOKENS, TRACKS, inspect_text

    searched = time.time()
    report = inspect_text(model, max_tokens=args.max_tokens or MAX_TOKENS, page_tokens=2000 if args.page else 0)
    search_s = time.time() - searched
    if args.page:
        from rnntext.inspection.page import write_page

        write_page(model, report, args.page, name=f"{Path(args.run).name if args.run else args.corpus}, "
                                                  f"{trained.get('elapsed_s', 0):.0f} s", force=True)
    features = {f["feature"]: [{"unit": f"{u['array']}#{u['unit']}", "r": u["r"]} for u in f["units"]] if f["varies"]
                else "does not vary" for f in report.found}
    best = max((u for f in report.found if f["feature"] in TARGET for u in f["units"]), key=lambda u: abs(u["r"]),
               default=None)
    m = model.info.model
    print(json.dumps({
        "benchmark": "inspect_units", "machine": hardware.describe(), "command": " ".join(sys.argv),
        "corpus": args.corpus if not args.run else trained.get("dataset"), "run": args.run,
        "trained_s": trained.get("elapsed_s"), "iterations": trained.get("iterations"),
        "val_loss": round(trained["best_val_loss"], 4), "model": {"cell": m.cell, "hidden_sizes": list(m.hidden_sizes),
                                                             "embed_size": m.embed_size},
        "searched": {"text": report.text_name(), "tokens": report.read, "seconds": round(search_s, 1)},
        "features": features, "best_depth_or_line_pos": best,
        "reaches": bool(best and abs(best["r"]) >= TRACKS), "page": args.page, "wall_s": round(time.time() - start, 1),
    }))


if __name__ == "__main__":
    main()
