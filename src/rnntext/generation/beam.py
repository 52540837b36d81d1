"""Beam search: the likeliest continuations instead of samples.

W = `width` streams hold W hypotheses (beams), all starting from the primed state. Each step
every beam proposes every token; a candidate's score is its beam's score plus the token's
log-probability (log-softmax of the logits, after the repetition penalty; temperature, top-k
and top-p do not apply). The 2W best candidates are taken in order of score (ties: lower
beam, then lower token id). A candidate that ends its beam (the line-mode end token, or a stop
string; rnntext.generation.stops) is kept as a finished hypothesis when it ranks among the
first W; the others fill the W live beams, whose streams take their parents' states
(`Streams.reorder`). The search ends after `length` tokens (the live beams finish there), or
once W hypotheses have finished (early stopping as in Hugging Face's `early_stopping=True`).

Hypotheses are ranked by their average log-probability per generated token (the score divided
by the number of tokens, an ended beam's last token included), which does not favour short
endings the way the plain sum does; ties keep the order in which they finished. Width 1 is
greedy decoding: the one beam takes the likeliest token every step.
"""

from __future__ import annotations

import numpy as np

from rnntext.generation.rules import Penalty
from rnntext.sampling import SampleConfig

COUNT, PENALTY = SampleConfig.num_samples, SampleConfig.repetition_penalty


def best(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest finite scores, best first; ties by lower index (deterministic)."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return np.zeros(0, np.int64)
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    chosen = np.flatnonzero(scores >= kth)                # every tie of the k-th is in
    order = np.lexsort((chosen, -scores[chosen]))         # by score, then by index
    return chosen[order][:k]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def beam_search(streams, length: int, width: int, count: int = COUNT, penalty: float = PENALTY,
                end: int | None = None, watch=None, check=None) -> list[list[int]]:
    """The `count` best hypotheses (token lists, best first) of a beam search of `width` beams
    over `streams` (B == width, primed). `end`: a token that ends a beam; `watch`: a
    rnntext.generation.stops.StopWatch over `width` rows; `check()`, called before every step,
    may raise to end the search (a deadline, a client that left)."""
    if not streams.primed:
        raise ValueError("prime the streams before a beam search")
    if streams.B != width or not 1 <= count <= width:
        raise ValueError(f"a beam search of {width} beams needs {width} streams and 1 to {width} results")
    pen = Penalty(penalty, width, streams.V)
    scores = np.full(width, -np.inf)
    scores[0] = 0.0                                       # the beams start as one: the prime's state
    beams: list[list[int]] = [[] for _ in range(width)]
    finished: list[tuple[float, list[int]]] = []
    for n in range(length):
        if check is not None:
            check()
        total = (scores[:, None] + log_softmax(pen(streams.logits))).ravel()   # (W * V,)
        top = best(total, 2 * width)
        parents, tokens = np.divmod(top, streams.V)
        ended = tokens == end if end is not None else np.zeros(len(top), bool)
        if watch is not None:
            watch.reorder(parents)
            ended |= watch(tokens)
        live = [r for r in range(len(top)) if not ended[r]][:width]
        finished += [(total[top[r]] / (n + 1), beams[parents[r]] + [int(tokens[r])])
                     for r in range(min(width, len(top))) if ended[r]]
        if n + 1 == length:  # the live beams finish at the length
            finished += [(total[top[r]] / (n + 1), beams[parents[r]] + [int(tokens[r])]) for r in live]
        if not live or len(finished) >= width or n + 1 == length:
            break
        keep = np.array(live + [live[0]] * (width - len(live)))   # too few live: padded with a dead copy
        if watch is not None:
            watch.reorder(keep)
        beams = [beams[parents[r]] + [int(tokens[r])] for r in keep]
        scores = np.where(np.arange(width) < len(live), total[top[keep]], -np.inf)
        pen.reorder(parents[keep])
        pen.saw(tokens[keep])
        streams.reorder(parents[keep])
        streams.step(tokens[keep])
    ranked = sorted(range(len(finished)), key=lambda i: (-finished[i][0], i))
    return [finished[i][1] for i in ranked[:count]]


def beam_steps(streams, length: int, width: int, count: int = COUNT, penalty: float = PENALTY,
               end: int | None = None, watch=None, check=None):
    """What `generate` yields, for a beam search: the best `count` hypotheses as (count,) id arrays
    step by step, -1 after a hypothesis has ended."""
    found = beam_search(streams, length, width, count, penalty, end, watch, check)
    found += [[] for _ in range(count - len(found))]
    grid = np.full((count, max(map(len, found), default=0)), -1, np.int64)
    for row, tokens in zip(grid, found):
        row[:len(tokens)] = tokens
    yield from grid.T.copy()
