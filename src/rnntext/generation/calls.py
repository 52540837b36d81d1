"""One sampling call, once its options are built and its streams open: the prime run, the
likeliest next tokens after it when asked for, then the steps (drawn by the sampling rules, or
the best hypotheses of a beam search), as rnntext.trained.Model.steps hands them out."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnntext.generation.beam import beam_steps
from rnntext.generation.rules import Rule, probabilities, top_tokens
from rnntext.generation.runtime import generate
from rnntext.generation.stops import StopWatch
from rnntext.sampling import SampleConfig


class Steps:
    """A sampling call under way: its primed `streams`, its prime's own ids (`prime`: empty
    without one, for showing it), the options it runs under (`cfg`), the likeliest next tokens
    after the prime when top_probs asked for them (`top`: (token, probability) pairs from the
    first stream), and, iterated, (streams, ids (B,)) per step."""

    def __init__(self, streams, prime: np.ndarray, steps: Iterator[np.ndarray], cfg: SampleConfig | None = None,
                 top: list[tuple[str, float]] | None = None):
        self.streams, self.prime, self._steps, self.cfg, self.top = streams, prime, steps, cfg, top

    def __iter__(self):
        for out in self._steps:
            yield self.streams, out


def start(streams, cfg: SampleConfig, own: np.ndarray, first: np.ndarray, tokens, end: int | None,
          make_decoder, check=None) -> Steps:
    """Prime `streams` with the prime's ids `own` (`first`, where a sample starts without one,
    when it has none) and set out the steps `cfg` asks for: `end` stops a stream (line mode's
    end token), `make_decoder(stop)` makes the stop strings' decoders, `tokens` names the ids;
    `check()` runs before each step of a beam search (a caller's deadline: it raises to end it)."""
    logits = streams.prime(own if len(own) else first)
    top = [(tokens[i], p) for i, p in top_tokens(probabilities(logits)[0], cfg.top_probs)] if cfg.top_probs else None
    width = cfg.beam or cfg.num_samples
    watch = StopWatch(make_decoder, cfg.stop, width) if cfg.stop else None
    if cfg.beam:  # the search runs first; its best hypotheses come out as steps
        steps = beam_steps(streams, cfg.length, width, cfg.num_samples, cfg.repetition_penalty, end, watch, check)
    else:
        steps = generate(streams, cfg.length, Rule.from_config(cfg), cfg.seed, end, watch)
    return Steps(streams, own, steps, cfg, top)
