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

from pathlib import Path

import numpy as np

from rnntext.errors import ConfigError, InputError, RunError
from rnntext.sampling import NUMPY_FLOAT32, check_options

EVAL_STREAMS = 64  # streams side by side (short texts fewer: TextBatches)
EVAL_WARMUP = 128  # tokens each stream but the first reads unscored first, to warm its state


def plan(engine: str, precision: str) -> tuple[str, str]:
    """(engine, precision) checked: a one-line ConfigError for a choice that cannot run."""
    check_options(engine=engine, precision=precision)
    if engine == "torch" and not torch_installed():
        raise ConfigError("engine: torch is not installed: use the numpy engine (--engine auto or numpy)")
    if engine == "auto":
        engine = "torch" if torch_installed() else "numpy"
    if engine == "numpy" and precision not in ("auto", "float32"):
        raise ConfigError(NUMPY_FLOAT32)
    return engine, precision


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
    """The metrics of `model` (rnntext.api.Model) on `ids`, on the engine and precision `how` (plan)."""
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
        from rnntext.engines.numpy.runtime import evaluate_timed

        params = {k: np.asarray(v, np.float32) for k, v in model.weights.items()}
        total, correct, count = evaluate_timed(params, model.info.model, batches)
        precision = "float32"
    return {**model.level.metrics(total / count), "accuracy": correct / count, "tokens": int(count),
            "precision": precision}


def torch_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
