"""Model quality at equal time against the references of issue 12; one JSON line per case.

  char:     tinyshakespeare split 90/5/5 (contiguous), train --time-limit s, loss on the test block
            (reference: pytorch/examples' word_language_model on characters, 1.59 after ~9 min)
  word:     the word-medium preset on PTB: train on the first 90% of the lines of ptb.valid.txt
            (the last 10% of its lines for validation, vocabulary from the whole file), evaluate
            on ptb.test.txt with unknown words as <unk> (reference: perplexity 297)
  adaptive: the plain default recipe (auto size) given --time-limit s on the first 160 KB of
            tinyshakespeare, against the same recipe at fixed 2x128, 2x256 (the char-small preset)
            and 2x512
Extra key=value arguments override the recipe of the chosen case (preset=NAME picks a preset).

    .venv/bin/python benchmarks/quality.py char [--time-limit 600] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import rnntext
from rnntext.config import SECTIONS, coerce, key_section

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"

RECIPES = {
    "char": dict(val_frac=0.05, test_frac=0.05),
    "word": dict(word_mode="space"),  # with the word-medium preset; PTB is already split into words
}


def overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, value = item.split("=", 1)
        out[key] = value if key == "preset" else coerce(SECTIONS[key_section(key)], key, value)
    return out


PRESETS = {"word": "word-medium"}


def train_and_measure(case: str, text: Path, time_limit: float, options: dict, test_text: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"quality-{case}-") as tmp:
        run = Path(tmp) / "run"
        start = time.time()
        options = dict(options)
        preset = options.pop("preset", PRESETS.get(case))
        result = rnntext.train(str(text), run, time_limit=time_limit, quiet=True, sample_every=0,
                               preset=preset, **{**RECIPES.get(case, {}), **options})
        model = rnntext.load(run, weights="best")
        from rnntext.data import open_dataset

        with open_dataset(run / "data.h5") as ds:
            sizes = {split: ds.size(split) for split in ("train", "val", "test")}
            if test_text is None:  # the test block of the prepared dataset
                test_text = ds.vocab.decode(ds.split("test")[:])
        scores = model.evaluate(test_text)
        return {"case": case, "preset": preset, "time_limit_s": time_limit, "test_loss": round(scores["loss"], 4),
                "test_bpc": round(scores.get("bpc") or 0, 4) or None, "test_perplexity": round(scores["perplexity"], 2),
                "test_accuracy": round(scores["accuracy"], 4), "test_tokens": scores["tokens"],
                "test_unknown": scores["unknown"], "best_val_loss": round(result.best_val_loss, 4),
                "iterations": result.iterations, "epochs": round(result.epoch, 2),
                "parameters": model.summary()["total_parameters"],
                "hidden_size": list(model.info.model.hidden_sizes),
                "split_tokens": sizes, "wall_s": round(time.time() - start, 1),
                "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=("char", "word", "adaptive"))
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--rows", default="default,2x128,2x256,2x512", help="adaptive: which rows to run")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    options = overrides(args.overrides)
    if args.case == "char":
        row = train_and_measure("char", CORPORA / "tinyshakespeare.txt", args.time_limit, options, None)
        print(json.dumps({"benchmark": "quality", **row, "target_test_loss": 1.49, "reference_test_loss": 1.59}))
    elif args.case == "word":
        test = (CORPORA / "ptb.test.txt").read_text()
        lines = (CORPORA / "ptb.valid.txt").read_text().splitlines()
        val_lines = lines[int(0.9 * len(lines)):]
        per_line = [len(line.split()) + 1 for line in lines]  # words and <eos>
        val_tokens, total = sum(per_line[len(lines) - len(val_lines):]), sum(per_line)
        # the split is int(total * val_frac) tokens: this fraction puts it exactly on the line boundary
        options.setdefault("val_frac", (val_tokens + 0.5) / total)
        row = train_and_measure("word", CORPORA / "ptb.valid.txt", args.time_limit, options, test)
        row["val_tokens"], row["val_lines"] = val_tokens, len(val_lines)
        print(json.dumps({"benchmark": "quality", **row, "target_perplexity": 267, "reference_perplexity": 297}))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            novel = Path(tmp) / "novel.txt"
            novel.write_text((CORPORA / "tinyshakespeare.txt").read_text()[:160_000])
            rows = {"default": {}, "2x128": {"hidden_size": (128,)}, "2x256": {"preset": "char-small"},
                    "2x512": {"hidden_size": (512,)}}  # 2x256 is the char-small preset: the recipe at that size
            for label in args.rows.split(","):
                extra = rows[label]
                row = train_and_measure("adaptive", novel, args.time_limit,
                                        {"val_frac": 0.05, "test_frac": 0.05, **extra, **options}, None)
                print(json.dumps({"benchmark": "quality", "recipe": label, **row}), flush=True)


if __name__ == "__main__":
    main()
