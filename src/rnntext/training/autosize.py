"""The default recipe, chosen from the data, the time a run is given and this machine's speed.

`hidden_size = 0` (auto) becomes, when training starts, the largest size in LADDER that
passes both tests:

1. data: the recurrent layers have at most DATA_RATIO parameters per training token. A model
   much larger than its corpus memorises it before it generalises.
2. time (only with --time-limit): a speed probe of real training steps on this machine says
   the run can pass over the training split at least as often as the size's regularisation
   needs (epochs_needed): a lightly regularised model learns in LIGHT_EPOCHS passes; a
   heavily regularised one (dropout and weight drop slow learning down) needs HEAVY_EPOCHS.
   On a slow machine the same rule picks a smaller model than on a fast one.

`batch_size = 0` (auto) is decided first, with a time limit: BATCHES[0] streams, doubled while
the probe measures at least BATCH_GAIN times the tokens per second at the doubled batch (at the
middle size the data allows, on the fastest thread count) and the training split still fills
MIN_BATCHES windows an epoch. Where wide vector units or native bf16 turn a larger batch into
proportionally more tokens (two cores with AVX-512 bf16: 1.6 times at batch 64), the run sees
more text in its time and so affords a larger model; on one AVX2 core a larger batch gives no
more tokens and only halves the optimizer's steps (measured worse). Without a time limit the
batch is BATCHES[0].

`dropout = -1` and `weight_drop = -1` (auto) then follow from the chosen size's recurrent
parameters per training token (regularisation): the larger the model against its data, the
more it must be kept from memorising; a run that passes over its data fewer than twice gets
none. Without a time limit the size is at most DEFAULT_MAX. With tie_weights the size is
embed_size. The choices are written into the run's config.toml and model.json, so a resume,
`load` and `sample` use them; the probe's seconds count against the time limit. docs/recipe.md
and docs/measured.md show the measurements behind the constants.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from rnntext.config import AUTO, AUTO_BATCH, AUTO_UNRESOLVED, Config
from rnntext.model.parameters import count_parameters

log = logging.getLogger("rnntext")

LADDER = (64, 128, 256, 384, 512, 768, 1024)
DATA_RATIO = 8.0  # recurrent parameters per training token at most
HEAVY_RATIO = 3.0  # from this many recurrent parameters per token, the heavy regularisation
LIGHT_EPOCHS, HEAVY_EPOCHS = 5.0, 10.0  # passes over the training split each kind needs
DEFAULT_MAX = AUTO_UNRESOLVED  # without a time limit: the 2x256 a run got before auto sizes
PROBE_SHARE = 0.05  # the probe stops trying larger sizes once it has used this share of the limit
PROBE_STEPS = 12  # timed steps per size and thread count at most
BATCHES = (AUTO_BATCH, 64)  # the auto batch's candidates, smallest first
BATCH_GAIN = 1.25  # a batch twice as large must give this many times the tokens per second
MIN_BATCHES = 100  # windows an epoch the training split must fill at a batch
clock = time.perf_counter  # the probe's clock (a test gives step times)


def regularisation(params_per_token: float, epochs: float | None) -> tuple[float, float]:
    """(dropout, weight_drop) for a model with this many recurrent parameters per training
    token that will pass over its data `epochs` times (None: unknown, as many as it takes).
    The heavy pair is the measured recipe of 2x512 on 1 MB (3.3 per token) and 2x256 on 144k
    characters (5.9 per token); models smaller than their data lose by it."""
    if epochs is not None and epochs < 2:
        return 0.0, 0.0
    if params_per_token >= HEAVY_RATIO:
        return 0.25, 0.2
    if params_per_token >= 1.0:
        return 0.2, 0.1
    return 0.1, 0.0


def epochs_needed(params_per_token: float) -> float:
    return HEAVY_EPOCHS if params_per_token >= HEAVY_RATIO else LIGHT_EPOCHS


def recurrent_parameters(cfg: Config, vocab_size: int, hidden: int) -> int:
    """Parameters of cfg's recurrent layers with every layer `hidden` wide. The embedding and
    output layers grow with the vocabulary, not with what the model can memorise: a 10,000-word
    vocabulary would otherwise shrink every word model to the smallest size."""
    return count_parameters(replace(cfg.model, hidden_size=(hidden,)), vocab_size, "rnn")


def probe_speed(cfg: Config, vocab_size: int, hidden: int, budget_s: float = 1.0) -> dict[int, float]:
    """Training tokens per second of cfg's model at size `hidden` at each thread count the
    trainer may train with (rnntext.training.threads.candidates): real steps (random tokens, the
    run's batch shape, engine and precision), one untimed after each switch, then the median of
    the timed ones, so that one step slowed by another process does not decide. On a machine
    where another process holds a core, all threads can be several times slower than one, and
    training will run with the fastest count: so the size is decided at that count's speed."""
    return _probe(cfg, vocab_size, hidden, (cfg.train.batch_size,), budget_s)[cfg.train.batch_size]


def probe_batches(cfg: Config, vocab_size: int, hidden: int, batches: tuple[int, ...],
                  budget_s: float = 1.0) -> dict[int, float]:
    """Tokens per second at each batch size, on its fastest thread count. The batches' steps
    alternate, so that another process's load falls on all of them alike: timed one after the
    other, a burst of load on either would decide the comparison."""
    return {b: max(by_threads.values()) for b, by_threads in _probe(cfg, vocab_size, hidden, batches, budget_s).items()}


def _probe(cfg: Config, vocab_size: int, hidden: int, batches: tuple[int, ...],
           budget_s: float) -> dict[int, dict[int, float]]:
    """{batch: {threads: tokens/s}}: probe_speed's steps for each batch in turn, at each thread count."""
    from rnntext.training.threads import candidates, set_threads
    from rnntext.training.trainer import make_engine

    engine = make_engine(replace(cfg, model=replace(cfg.model, hidden_size=(hidden,))), vocab_size)
    T, rng = cfg.train.seq_len, np.random.default_rng(0)
    inputs = {b: (*rng.integers(0, vocab_size, (2, b, T)), np.zeros((b, T), np.int64) if cfg.model.labels else None)
              for b in batches}
    counts = sorted(candidates(engine, cfg.train.threads)) or [0]  # 0: leave torch's count as it is
    speeds: dict[int, dict[int, float]] = {b: {} for b in batches}
    first = batches[0]
    for n in counts:  # fewest first: on a busy machine the fast one, which the others must beat
        if n:
            set_threads(n)
        times: dict[int, list[float]] = {b: [] for b in batches}
        spent = clock()
        for b in batches:  # after a switch (or the first) the kernels warm up: an untimed step
            _step(engine, inputs[b])
        while len(times[first]) < 2 or (len(times[first]) < PROBE_STEPS and clock() - spent < budget_s / len(counts)):
            if speeds[first] and times[first] and first * T / times[first][-1] < 0.5 * max(speeds[first].values()):
                break  # twice as slow as a count already timed: it cannot win, and a crawl is costly
            for b in batches:
                began = clock()
                _step(engine, inputs[b])
                times[b].append(clock() - began)
        for b in batches:
            speeds[b][n] = b * T / float(np.median(times[b]))
    return speeds


def _step(engine, batch) -> None:
    x, y, cond = batch
    engine.reset_state()  # batches of another shape alternate: no state carries between them
    engine.train_step(x, y, 1e-9, None, cond)


def choose_batch(cfg: Config, vocab_size: int, train_tokens: int) -> tuple[int, dict]:
    """The auto batch size for this run and its record: BATCHES[0], doubled while the probe
    says it pays (see the module's text); speeds at the size the data allows in the middle."""
    t, first = cfg.train, BATCHES[0]
    if not t.time_limit:
        return first, {}
    hidden = cfg.model.hidden_sizes[0] if cfg.model.hidden_size != (0,) else middle_size(cfg, vocab_size, train_tokens)
    fits = [b for b in BATCHES if train_tokens // (b * t.seq_len) >= MIN_BATCHES]
    if len(fits) < 2:
        return first, {}
    speeds = {b: round(v) for b, v in probe_batches(cfg, vocab_size, hidden, tuple(fits),
                                                     budget_s=min(2.0, 0.02 * t.time_limit)).items()}
    chosen = first
    for smaller, batch in zip(fits, fits[1:]):
        if speeds[batch] < BATCH_GAIN * speeds[smaller]:
            break
        chosen = batch
    return chosen, {"batch_size": chosen, "batch_tokens_per_s": speeds, "batch_probed_at": hidden}


def middle_size(cfg: Config, vocab_size: int, train_tokens: int) -> int:
    """The size the auto size's bisection probes first: the middle one the data allows."""
    allowed = [h for h in LADDER if recurrent_parameters(cfg, vocab_size, h) / train_tokens <= DATA_RATIO]
    return allowed[(len(allowed) - 1) // 2] if allowed else LADDER[0]


def choose_hidden_size(cfg: Config, vocab_size: int, train_tokens: int, budget=None,
                       val_tokens: int = 0) -> tuple[int, dict]:
    """The auto size for this run, and a record of why (for the log and the run's info).
    `budget`: the run's time budget (rnntext.training.budget), when it has a time limit."""
    m, limit = cfg.model, cfg.train.time_limit
    if m.tie_weights:
        return m.embed_size, {"rule": "tie_weights: the embedding size"}
    ratio = {h: recurrent_parameters(cfg, vocab_size, h) / train_tokens for h in LADDER}
    candidates = [h for h in LADDER if ratio[h] <= DATA_RATIO] or [LADDER[0]]
    if not limit:
        chosen = max([h for h in candidates if h <= DEFAULT_MAX] or [LADDER[0]])
        return chosen, {"rule": "data", "train_tokens": train_tokens}
    # what training will have: the budget left once the probe has had its share
    seconds = (budget.remaining() if budget is not None else limit) - PROBE_SHARE * limit
    # speed falls and the epochs needed rise with the size: bisect for the largest that passes
    best, lo, hi, speeds, threads, start = 0, 0, len(candidates) - 1, {}, {}, clock()
    while lo <= hi and (not speeds or clock() - start < PROBE_SHARE * limit):
        mid = (lo + hi) // 2
        h = candidates[mid]
        by_threads = probe_speed(cfg, vocab_size, h, budget_s=min(1.0, 0.01 * limit))
        threads[h] = max(by_threads, key=by_threads.get)
        speeds[h] = round(by_threads[threads[h]])
        if passes(cfg, speeds[h], seconds, train_tokens, val_tokens) >= epochs_needed(ratio[h]):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    why = {"rule": "data and time", "train_tokens": train_tokens, "tokens_per_s": speeds,
           "probe_s": round(clock() - start, 2)}
    if any(threads.values()):
        why["probe_threads"] = threads
    return candidates[best], why


def passes(cfg: Config, tokens_per_s: float, seconds: float, train_tokens: int, val_tokens: int = 0) -> float:
    """How often training at `tokens_per_s` for `seconds` passes over its training split, the
    validations' share of the time taken out (each scores its tokens at about twice the training
    speed, every eval_every iterations)."""
    t = cfg.train
    scored = min(val_tokens, t.eval_tokens or val_tokens)
    per_validation = t.eval_every * t.batch_size * t.seq_len if t.eval_every and not t.eval_every_epochs else 0
    overhead = scored / (2 * per_validation) if per_validation else 0.0
    return tokens_per_s * max(seconds, 0.0) / (1 + overhead) / train_tokens


def expected_epochs(cfg: Config, train_tokens: int, tokens_per_s: float | None, seconds: float | None = None,
                    val_tokens: int = 0) -> float | None:
    """How often the run will pass over its training split, where its stopping rules say;
    `seconds`: the training time the budget leaves (the whole limit when not given)."""
    t = cfg.train
    bounds = [t.epochs] if t.epochs else []
    if t.max_iters:
        bounds.append(t.max_iters * t.batch_size * t.seq_len / train_tokens)
    if t.time_limit and tokens_per_s:
        bounds.append(passes(cfg, tokens_per_s, t.time_limit if seconds is None else seconds, train_tokens,
                             val_tokens))
    return min(bounds) if bounds else None


def resolve(cfg: Config, vocab_size: int, train_tokens: int, world=None, budget=None,
            val_tokens: int = 0) -> tuple[Config, dict | None]:
    """cfg with its auto values (batch, hidden size, dropout, weight drop) replaced by the
    chosen ones (unchanged otherwise), and a record of the choice."""
    from rnntext.training import distributed

    m, why = cfg.model, {}
    world = world or distributed.SINGLE
    if cfg.train.batch_size == 0:
        batch, why = choose_batch(cfg, vocab_size, train_tokens) if world.main else (0, {})
        batch = distributed.broadcast_int(world, batch)
        cfg = replace(cfg, train=replace(cfg.train, batch_size=batch))
    if m.hidden_size == (0,):
        chosen, size_why = choose_hidden_size(cfg, vocab_size, train_tokens, budget, val_tokens) if world.main \
            else (0, {})
        chosen = distributed.broadcast_int(world, chosen)  # every rank builds the same model
        m = replace(m, hidden_size=(chosen,))
        why = {"hidden_size": chosen, **size_why, **why}
    if AUTO in (m.dropout, m.weight_drop):
        ratio = count_parameters(m, vocab_size, "rnn") / train_tokens
        speed = why.get("tokens_per_s", {}).get(m.hidden_sizes[0])
        if speed is None and why.get("batch_probed_at") == m.hidden_sizes[0]:  # a given size: the batch probe's
            speed = why["batch_tokens_per_s"][cfg.train.batch_size]
        seconds = budget.remaining() if budget is not None and budget.limited else None
        epochs = expected_epochs(cfg, train_tokens, speed, seconds, val_tokens)
        dropout, weight_drop = regularisation(ratio, epochs)
        m = replace(m, dropout=dropout if m.dropout == AUTO else m.dropout,
                    weight_drop=weight_drop if m.weight_drop == AUTO else m.weight_drop)
        why |= {"dropout": m.dropout, "weight_drop": m.weight_drop,
                "recurrent_params_per_token": round(ratio, 3),
                "expected_epochs": None if epochs is None else round(epochs, 2)}
    if not why:
        return cfg, None
    log.info("recipe: %s", why)
    return replace(cfg, model=m), why
