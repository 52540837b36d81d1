"""Fine-tuning against training from scratch, at equal time on the small text.

A model trained on a large text (tinyshakespeare, `--large-time` seconds) is fine-tuned for
`--small-time` seconds on a small text by other authors (the first `--small-chars` characters
of ptb.valid.txt: Wall Street Journal sentences), and a model is trained for the same
`--small-time` seconds on the small text alone. Both use the default recipe. Both are scored
on the same held-out block (the last 10% of the small text, which neither trained on) in nats
per character. Prints one JSON line with both losses and the machine.

    .venv/bin/python benchmarks/finetune.py [--large-time 120] [--small-time 60]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import rnntext
from rnntext import hardware

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", default=str(CORPORA / "tinyshakespeare.txt"))
    parser.add_argument("--small", default=str(CORPORA / "ptb.valid.txt"))
    parser.add_argument("--small-chars", type=int, default=150_000)
    parser.add_argument("--large-time", type=float, default=120)
    parser.add_argument("--small-time", type=float, default=60)
    args = parser.parse_args()
    small = Path(args.small).read_text(encoding="utf-8")[:args.small_chars]
    cut = int(len(small) * 0.9)
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "small.txt").write_text(small[:cut], encoding="utf-8")
        common = {"quiet": True, "sample_every": 0}
        large = rnntext.train(args.large, tmp / "large", time_limit=args.large_time, **common)
        if not large.iterations:
            raise SystemExit(f"the large run made no iteration in {args.large_time} s: give it more --large-time")
        tuned = rnntext.train(tmp / "small.txt", tmp / "tuned", init_from=str(tmp / "large"),
                              time_limit=args.small_time, **common)
        scratch = rnntext.train(tmp / "small.txt", tmp / "scratch", time_limit=args.small_time, **common)
        runs = {name: rnntext.load(tmp / name, weights="best") for name in ("large", "tuned", "scratch")}
        held_out = small[cut:]
        scores = {name: runs[name].evaluate(held_out) for name in ("tuned", "scratch")}
        zero_shot = runs["large"].evaluate(held_out)  # the large model before fine-tuning (unknowns skipped)
        sample = runs["tuned"].generate("the ", length=200, temperature=0.8, seed=1)
    shape = {name: list(runs[name].info.model.hidden_sizes) for name in runs}
    print(json.dumps({
        "benchmark": "finetune", "machine": hardware.describe(),
        "large": {"text": Path(args.large).name, "chars": len(Path(args.large).read_text(encoding="utf-8")),
                  "time_limit_s": args.large_time, "iterations": large.iterations, "hidden": shape["large"]},
        "small": {"text": Path(args.small).name, "train_chars": cut, "held_out_chars": len(small) - cut,
                  "time_limit_s": args.small_time},
        "finetuned": {"held_out_loss": round(scores["tuned"]["loss"], 4), "iterations": tuned.iterations,
                      "hidden": shape["tuned"], "new_tokens": len(runs["tuned"].vocab) - len(runs["large"].vocab)},
        "scratch": {"held_out_loss": round(scores["scratch"]["loss"], 4), "iterations": scratch.iterations,
                    "hidden": shape["scratch"]},
        "large_model_before_finetuning_loss": round(zero_shot["loss"], 4),
        "finetuned_beats_scratch": scores["tuned"]["loss"] < scores["scratch"]["loss"],
        "wall_s": round(time.time() - start, 1), "finetuned_sample": sample}, ensure_ascii=False))


if __name__ == "__main__":
    main()
