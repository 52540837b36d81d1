"""The default model size, chosen from the data and from the time a run is given.

`hidden_size = 0` (the default, "auto") becomes, when training starts, the largest size in
LADDER that passes both tests:

1. data: the recurrent layers have at most DATA_RATIO parameters per training token. A model
   much larger than its corpus memorises it before it generalises. Measured with the default
   recipe (benchmarks/quality.py): on 144k training characters and 2 minutes, 2x256 (5.9 per
   token) matched 2x128 on validation and beat it on test, and 2x512 (23 per token) lost on
   both; on 1M characters and 10 minutes 2x512 (3.3 per token) is the size that met issue
   12's target.
2. time (only with --time-limit): a speed probe of a few real training steps says the run can
   pass over the training split at least MIN_EPOCHS times in the limit. A model that sees
   its data only a few times is undertrained, however large.

Without a time limit the size is at most DEFAULT_MAX (the 2x256 LSTM a run got before auto
sizes). With tie_weights the size is embed_size. The chosen size is written into the run's
config.toml, so a resume, `load` and `sample` use it; the probe's seconds count against the
time limit. README "Model size" shows the measurements behind the constants.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from rnntext.config import AUTO_UNRESOLVED, Config

log = logging.getLogger("rnntext")

LADDER = (64, 128, 256, 384, 512, 768, 1024)
DATA_RATIO = 8.0  # recurrent parameters per training token at most
MIN_EPOCHS = 10.0  # passes over the training split the time limit must allow
DEFAULT_MAX = AUTO_UNRESOLVED  # without a time limit: the 2x256 a run got before auto sizes
PROBE_SHARE = 0.05  # the probe stops trying larger sizes once it has used this share of the limit


def recurrent_parameters(cfg: Config, vocab_size: int, hidden: int) -> int:
    """Parameters of cfg's recurrent layers with every layer `hidden` wide. The embedding and
    output layers grow with the vocabulary, not with what the model can memorise: a 10,000-word
    vocabulary would otherwise shrink every word model to the smallest size."""
    from rnntext.engines.numpy.model import param_shapes

    shapes = param_shapes(replace(cfg.model, hidden_size=(hidden,)), vocab_size)
    return int(sum(np.prod(shape) for name, shape in shapes.items() if name.startswith("rnn.")))


def probe_speed(cfg: Config, vocab_size: int, hidden: int, budget_s: float = 1.0) -> float:
    """Training tokens per second of cfg's model at size `hidden`: one warm-up step, then real
    steps (random tokens, the run's batch shape and engine) for about `budget_s` seconds."""
    from rnntext.training.trainer import make_engine

    probe = replace(cfg, model=replace(cfg.model, hidden_size=(hidden,)))
    engine = make_engine(probe, vocab_size)
    B, T = cfg.train.batch_size, cfg.train.seq_len
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, vocab_size, (2, B, T))
    cond = np.zeros((B, T), np.int64) if cfg.model.labels else None
    engine.train_step(x, y, 1e-9, None, cond)
    steps, start = 0, time.perf_counter()
    while steps < 2 or (steps < 20 and time.perf_counter() - start < budget_s):
        engine.train_step(x, y, 1e-9, None, cond)
        steps += 1
    return steps * B * T / (time.perf_counter() - start)


def choose_hidden_size(cfg: Config, vocab_size: int, train_tokens: int) -> tuple[int, dict]:
    """The auto size for this run, and a record of why (for the log and the run's info)."""
    m, limit = cfg.model, cfg.train.time_limit
    if m.tie_weights:
        return m.embed_size, {"rule": "tie_weights: the embedding size"}
    fits_data = [h for h in LADDER if recurrent_parameters(cfg, vocab_size, h) <= DATA_RATIO * train_tokens]
    candidates = fits_data or [LADDER[0]]
    if not limit:
        chosen = max([h for h in candidates if h <= DEFAULT_MAX] or [LADDER[0]])
        return chosen, {"rule": "data", "train_tokens": train_tokens}
    # speed falls as the size grows: bisect for the largest size that still gets MIN_EPOCHS
    best, lo, hi, speeds, start = 0, 0, len(candidates) - 1, {}, time.perf_counter()
    while lo <= hi and (not speeds or time.perf_counter() - start < PROBE_SHARE * limit):
        mid = (lo + hi) // 2
        speed = probe_speed(cfg, vocab_size, candidates[mid], budget_s=min(1.0, 0.01 * limit))
        speeds[candidates[mid]] = round(speed)
        if speed * limit >= MIN_EPOCHS * train_tokens:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return candidates[best], {"rule": "data and time", "train_tokens": train_tokens, "tokens_per_s": speeds,
                    "probe_s": round(time.perf_counter() - start, 2)}


def resolve(cfg: Config, vocab_size: int, train_tokens: int, world=None) -> tuple[Config, dict | None]:
    """cfg with an auto hidden size replaced by the chosen one (unchanged otherwise)."""
    from rnntext.training import distributed

    if cfg.model.hidden_size != (0,):
        return cfg, None
    world = world or distributed.SINGLE
    chosen, why = choose_hidden_size(cfg, vocab_size, train_tokens) if world.main else (0, {})
    chosen = distributed.broadcast_int(world, chosen)  # every rank builds the same model
    log.info("model size: %d hidden units per layer (%s)", chosen, why)
    return replace(cfg, model=replace(cfg.model, hidden_size=(chosen,))), {"hidden_size": chosen, **why}
