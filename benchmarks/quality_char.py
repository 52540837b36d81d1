"""Char-level quality of the default recipe on tinyshakespeare (issue 4's acceptance).

Splits ../shared/corpora/tinyshakespeare.txt with the last 5% as validation (char-rnn's
split), trains the default recipe for --time-limit seconds, and prints one JSON line: the
best validation loss in nats per character and bits per character, iterations, epochs,
tokens/s, and a temperature-0.8 sample. Extra `key=value` arguments override the recipe.

    .venv/bin/python benchmarks/quality_char.py --time-limit 600 [hidden_size=256 dropout=0.1 ...]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import rnntext
from rnntext import hardware
from rnntext.config import SECTIONS, key_section
from rnntext.options import coerce

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "tinyshakespeare.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    parser.add_argument("overrides", nargs="*", help="key=value options for the recipe")
    args = parser.parse_args()
    options = {}
    for item in args.overrides:
        key, value = item.split("=", 1)
        options[key] = coerce(SECTIONS[key_section(key)], key, value)
    out = Path(args.out or tempfile.mkdtemp(prefix="quality-char-")) / "run"
    start = time.time()
    result = rnntext.train(str(CORPUS.resolve()), out, force=True, val_frac=0.05, time_limit=args.time_limit,
                           quiet=True, sample_every=0, **options)
    model = rnntext.load(out, weights="best")
    sample = model.generate("\n", length=400, temperature=0.8, seed=1)
    best = result.best_val_loss
    print(json.dumps({"benchmark": "quality_char", "machine": hardware.describe(), "corpus": "tinyshakespeare (last 5% validation)",
                      "time_limit_s": args.time_limit, "val_loss": round(best, 4), "val_bpc": round(best / math.log(2), 4),
                      "iterations": result.iterations, "epochs": round(result.epoch, 2),
                      "tokens_per_s": round(model.info.training["tokens_seen"] / result.elapsed_s),
                      "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
                      "wall_s": round(time.time() - start, 1), "sample_t0.8": sample}))


if __name__ == "__main__":
    main()
