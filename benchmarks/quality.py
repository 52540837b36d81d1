"""Model quality at equal time; one JSON line per row, each with the machine it ran on.

  char:     tinyshakespeare split 90/5/5 (contiguous), train --time-limit s, loss on the test block.
            Rows (--rows): default, the plain default recipe; busy, the same beside a busy loop
            pinned to one core for the whole row (../shared/tools/busy-core: a laptop with a
            browser open); slow, the same on the slow speed class (../shared/tools/as-avx2
            --one-core: AVX2 kernels, one core, float32); reference, a plain PyTorch loop
            written here (2x256 LSTM, embedding 64, dropout 0.2, AdamW 2e-3, batch 64, T 100,
            clip 5, constant rate, PyTorch's own initialisation, float32) given the same seconds
            on the same split and scored the same way
  word:     PTB: train on the first 90% of the lines of ptb.valid.txt (the last 10% of its
            lines for validation, vocabulary from the whole file), evaluate on ptb.test.txt with
            unknown words as <unk> (reference: pytorch/examples' defaults, perplexity 297). Rows:
            default, plain `--level word` (the data case's word_mode space and split only);
            word-medium, the preset
  adaptive: the plain default recipe (auto size) given --time-limit s on the first 160 KB of
            tinyshakespeare, against the same recipe at fixed 2x128, 2x256 (the char-small preset)
            and 2x512
Extra key=value arguments override the recipe of the chosen case (preset=NAME picks a preset).

    .venv/bin/python benchmarks/quality.py char [--time-limit 600] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import rnntext
from rnntext import hardware
from rnntext.config import SECTIONS, key_section
from rnntext.options import coerce

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
TOOLS = CORPORA.parent / "tools"
CLASSES = {  # rows that run this script again under another machine class, and how
    "busy": [str(TOOLS / "busy-core")],
    "slow": [str(TOOLS / "as-avx2"), "--one-core", "env", "RNNTEXT_CPU_FEATURES=avx2"],
}

RECIPES = {
    "char": dict(val_frac=0.05, test_frac=0.05),
    "word": dict(level="word", word_mode="space"),  # PTB is already split into words
}


def overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, value = item.split("=", 1)
        out[key] = value if key == "preset" else coerce(SECTIONS[key_section(key)], key, value)
    return out




def train_and_measure(case: str, text: Path, time_limit: float, options: dict, test_text: str | None,
                      keep: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"quality-{case}-") as tmp:
        run = Path(keep) if keep else Path(tmp) / "run"
        start = time.time()
        options = dict(options)
        preset = options.pop("preset", None)
        result = rnntext.train(str(text), run, time_limit=time_limit, quiet=True, sample_every=0,
                               preset=preset, force=bool(keep), **{**RECIPES.get(case, {}), **options})
        model = rnntext.load(run, weights="best")
        from rnntext.data.dataset import open_dataset

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
                "hidden_size": list(model.info.model.hidden_sizes), **chosen(model),
                "split_tokens": sizes, "wall_s": round(time.time() - start, 1),
                "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}}


def chosen(model) -> dict:
    """What the recipe chose and why, from the run's record: the passes the plan predicted, the
    probe's speeds and thread counts, the regularisation, the thread counts the trainer timed,
    and what it said when the speed was off the plan."""
    summary = model.summary()
    recipe = summary.get("recipe") or {}
    return {"plan_epochs": recipe.get("expected_epochs"), "probe_tokens_per_s": recipe.get("tokens_per_s"),
            "probe_threads": recipe.get("probe_threads"), "dropout": model.info.model.dropout,
            "weight_drop": model.info.model.weight_drop, "batch_size": recipe.get("train", {}).get("batch_size"),
            "batch_tokens_per_s": recipe.get("batch_tokens_per_s"),
            "threads": summary.get("threads"), "paces": recipe.get("paces")}


def reference_char(text: Path, seconds: float) -> dict:
    """The plain loop a user would write, on the char case's split, for `seconds` of training."""
    from plain_loop import score_plain, train_plain

    with tempfile.TemporaryDirectory(prefix="quality-ref-") as tmp:
        data = Path(tmp) / "data.h5"
        rnntext.prepare(str(text), data, **RECIPES["char"])
        from rnntext.data.dataset import open_dataset

        with open_dataset(data) as ds:
            V, train, test = len(ds.vocab), ds.split("train")[:], ds.split("test")[:]
    start = time.time()
    modules, it, _ = train_plain(train, V, E=64, H=256, B=64, T=100, lr=2e-3, dropout=0.2, seconds=seconds)
    train_s = time.time() - start
    loss, accuracy = score_plain(modules, test)
    return {"case": "char", "time_limit_s": seconds, "test_loss": round(loss, 4), "test_bpc": round(loss / math.log(2), 4),
            "test_accuracy": round(accuracy, 4), "iterations": it, "epochs": round(it / ((len(train) - 1) // 64 // 100), 2),
            "train_s": round(train_s, 1), "wall_s": round(time.time() - start, 1),
            "recipe": "2x256 LSTM, embed 64, dropout 0.2, AdamW 2e-3, B 64, T 100, clip 5, constant, float32"}


def row_on_class(label: str, argv: list[str]) -> None:
    """Run the default row of this command again under machine class `label` (a busy core, the
    slow class), relaying its JSON line with the row's name."""
    import subprocess

    tool = Path(CLASSES[label][0])
    if not tool.exists():
        print(f"row {label}: {tool} is absent (it lives beside the project); skipped", file=sys.stderr)
        return
    own = ("--rows", "--keep")  # the row's own choices: which row, and the native row's kept run
    rest = [a for i, a in enumerate(argv) if not a.startswith(own) and (i == 0 or argv[i - 1] not in own)]
    out = subprocess.run([*CLASSES[label], sys.executable, __file__, *rest, "--rows=default"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        if line.startswith("{"):
            print(json.dumps({**json.loads(line), "row": label}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=("char", "word", "adaptive"))
    parser.add_argument("--time-limit", type=float, default=600)
    parser.add_argument("--rows", default=None,
                        help="char: default,busy,slow,reference; adaptive: default,2x128,2x256,2x512")
    parser.add_argument("--keep", help="char: keep the default row's run directory here (e.g. for "
                                           "benchmarks/inspect_units.py --run)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args()
    options = overrides(args.overrides)
    machine = hardware.describe()
    if args.case == "char":
        for label in (args.rows or "default,reference").split(","):
            if label in CLASSES:
                row_on_class(label, sys.argv[1:])
                continue
            if label == "reference":
                row = reference_char(CORPORA / "tinyshakespeare.txt", args.time_limit)
            else:
                row = train_and_measure("char", CORPORA / "tinyshakespeare.txt", args.time_limit, options, None,
                                        args.keep)
            print(json.dumps({"benchmark": "quality", "row": label, **row, "machine": machine}), flush=True)
    elif args.case == "word":
        test = (CORPORA / "ptb.test.txt").read_text()
        lines = (CORPORA / "ptb.valid.txt").read_text().splitlines()
        val_lines = lines[int(0.9 * len(lines)):]
        per_line = [len(line.split()) + 1 for line in lines]  # words and <eos>
        val_tokens, total = sum(per_line[len(lines) - len(val_lines):]), sum(per_line)
        # the split is int(total * val_frac) tokens: this fraction puts it exactly on the line boundary
        options.setdefault("val_frac", (val_tokens + 0.5) / total)
        for label in (args.rows or "default,word-medium").split(","):
            extra = {"preset": "word-medium"} if label == "word-medium" else {}
            row = train_and_measure("word", CORPORA / "ptb.valid.txt", args.time_limit, {**extra, **options}, test)
            row["val_tokens"], row["val_lines"] = val_tokens, len(val_lines)
            print(json.dumps({"benchmark": "quality", "row": label, **row, "reference_perplexity": 297,
                              "machine": machine}), flush=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            novel = Path(tmp) / "novel.txt"
            novel.write_text((CORPORA / "tinyshakespeare.txt").read_text()[:160_000])
            rows = {"default": {}, "2x128": {"hidden_size": (128,)}, "2x256": {"preset": "char-small"},
                    "2x512": {"hidden_size": (512,)}}  # 2x256 is the char-small preset: the recipe at that size
            for label in (args.rows or "default,2x128,2x256,2x512").split(","):
                extra = rows[label]
                row = train_and_measure("adaptive", novel, args.time_limit,
                                        {"val_frac": 0.05, "test_frac": 0.05, **extra, **options}, None)
                print(json.dumps({"benchmark": "quality", "recipe": label, **row, "machine": machine}), flush=True)


if __name__ == "__main__":
    main()
