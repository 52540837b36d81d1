"""Conditioning acceptance (issue 5): Shakespeare under its own label against the other label.

Trains with --condition-by file on tinyshakespeare (all but its last 5%) plus the built-in
python-docs corpus, then evaluates the held-out 5% of Shakespeare under the label
"shakespeare" and under "python-docs". Prints one JSON line; the target is a gap of at least
0.3 nats per character.

    .venv/bin/python benchmarks/conditioning.py [--time-limit 240]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import rnntext
from rnntext import hardware

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "tinyshakespeare.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=240)
    args = parser.parse_args()
    text = CORPUS.read_text()
    cut = int(len(text) * 0.95)
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "shakespeare.txt"
        train.write_text(text[:cut])
        start = time.time()
        result = rnntext.train([str(train), "python-docs"], Path(tmp) / "run", condition_by="file", val_frac=0.02,
                               time_limit=args.time_limit, quiet=True, sample_every=0)
        model = rnntext.load(Path(tmp) / "run", weights="best")
        held_out = text[cut:]
        own = model.evaluate(held_out, condition="shakespeare")
        other = model.evaluate(held_out, condition="python-docs")
        samples = {label: model.generate("\n", length=200, temperature=0.8, seed=1, condition=label, unknown="skip")
                   for label in model.info.model.labels}
    print(json.dumps({"benchmark": "conditioning", "machine": hardware.describe(), "labels": list(model.info.model.labels),
                      "time_limit_s": args.time_limit, "iterations": result.iterations,
                      "shakespeare_loss_own_label": round(own["loss"], 4),
                      "shakespeare_loss_other_label": round(other["loss"], 4),
                      "gap_nats": round(other["loss"] - own["loss"], 4), "target_gap": 0.3,
                      "wall_s": round(time.time() - start, 1), "samples": samples}))


if __name__ == "__main__":
    main()
