"""Scoring a model on text: loss, bits per character or perplexity, accuracy (Model.evaluate).

The text is read as the model would read it, with the state carried along, as EVAL_STREAMS
streams side by side in windows of `chunk` tokens (rnntext.data.batches.TextBatches): each
stream but the first reads EVAL_WARMUP tokens unscored before its part, so that its state is
warm, and every token is scored exactly once. On torch (when it is installed) the windows run
through the fused recurrent kernels, autocast as the trainer's validation is: bfloat16 where
the machine computes it natively (CUDA, AMX, AVX512-BF16), where it is about twice as fast and
a trained model's loss stays within about 1e-5 relative of float32; `precision="float32"` gives
the same number on every machine. Without torch the NumPy engine scores in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnntext.errors import InputError, RunError
from rnntext.options import check_fields, choose_engine, engine_option, opt, precision_option
from rnntext.sampling import UNKNOWN_HELP, valid_unknown

EVAL_STREAMS = 64  # streams side by side (short texts fewer: TextBatches)
EVAL_WARMUP = 128  # tokens each stream but the first reads unscored first, to warm its state


@dataclass(frozen=True)
class EvalConfig:
    """How a model is scored on text: `rnntext eval`'s flags and Model.evaluate's keywords."""

    engine: str = engine_option()
    precision: str = precision_option()
    unknown: str = opt("auto", f"outside the vocabulary: auto skips symbols and makes words <unk> (the level's "
                               f"choice), both counted; or {UNKNOWN_HELP}",
                       check=((lambda v: v == "auto" or valid_unknown(v)), f"must be {UNKNOWN_HELP}, or auto"))

    def __post_init__(self):
        check_fields(self, typed=True)

    def plan(self) -> tuple[str, str]:
        """(engine, precision) that score: the one engine rule (rnntext.options.choose_engine) for
        whole windows, torch where it is installed."""
        return choose_engine(self.engine, "auto", self.precision, windows=True), self.precision


def split_ids(dataset_path: str | None, splits: tuple[str, ...] = ("test", "val"), limit: int | None = None,
              purpose: str = "evaluate on") -> tuple[np.ndarray, dict]:
    """The token ids of the first of `splits` a dataset holds (by default its test split, its
    validation split when it has no test split), at most `limit` of them, and {"split",
    "dataset"} naming them. `purpose` ends the messages: "name the text to evaluate on"."""
    from rnntext.data.dataset import open_dataset

    if not dataset_path or not Path(dataset_path).is_file():
        raise RunError(f"the dataset this run was trained on ({dataset_path or 'not recorded'}) is not there: name "
                       f"the text to {purpose}")
    with open_dataset(dataset_path) as dataset:
        split = next((s for s in splits if dataset.size(s) > 1), None)
        if split is None:
            raise InputError(f"{dataset_path} has no {' or '.join(SPLIT_NAMES[s] for s in splits)} split: name the "
                             f"text to {purpose}")
        ids = np.asarray(dataset.split(split)[:limit], np.int64)
    return ids, {"split": split, "dataset": str(dataset_path)}


SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}


def score(model, ids: np.ndarray, chunk: int, condition, how: tuple[str, str]) -> dict:
    """The metrics of `model` (rnntext.trained.Model) on `ids`, on the engine and precision `how` (plan)."""
    from rnntext.data.batches import TextBatches

    if len(ids) < 2:
        raise InputError("evaluation text has fewer than 2 known tokens: give more text")
    batches = TextBatches(ids, chunk, model.label_id(condition), EVAL_STREAMS, EVAL_WARMUP)
    engine, precision = how
    if engine == "torch":
        from rnntext.engines.torch.engine import score_weights

        total, correct, count, precision = score_weights(model.info.model, len(model.vocab), model.weights,
                                                         batches, precision=precision)
    else:
        from rnntext.engines.numpy.engine import evaluate_timed

        params = {k: np.asarray(v, np.float32) for k, v in model.weights.items()}
        total, correct, count = evaluate_timed(params, model.info.model, batches)
        precision = "float32"
    return {**model.level.metrics(total / count), "accuracy": correct / count, "tokens": int(count),
            "precision": precision}
