"""Sampling rules on logits: temperature, top-k, top-p (nucleus) and greedy, in NumPy.

One random-number design serves every path (one stream, a batch, the torch engine on a GPU),
so the same seed gives the same text whichever produced it:

- Stream b of a batch draws from its own generator,
  ``np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(b,))))``,
  which is ``np.random.default_rng(seed).spawn(B)[b]``. Every step takes exactly one
  ``random()`` float64 u in [0, 1) from each stream, greedy steps included. A stream's text
  therefore depends on (seed, b) only: stream 0 of `--num-samples 256` is the text of
  `--num-samples 1`. `Uniforms` hands them out (drawn in blocks: the same numbers).
- The token is the inverse CDF of u over float64 weights in vocabulary order:
  ``z = (float64(l) - max(l)) / T``; top-k then top-p zero the weights of the tokens they drop;
  ``w = exp(z)``, ``c = cumsum(w)``, token = the number of entries of c that are <= u * c[-1]
  (the first index whose cumulative weight exceeds u * c[-1]; a zero weight is never chosen).
- Greedy (`greedy`, temperature 0 or top_k 1) takes the first index of the largest logit.
  top_k keeps the k largest logits, ties broken by the lower index (a stable descending sort);
  top_p keeps, in that same order, each token whose preceding probability mass is below top_p
  (so the most likely token always stays and a tiny top_p is greedy). Temperature applies
  before both filters, as in most LM toolkits.

`Sampler(rule, B, V)(logits, u)` is the one implementation: the runtime calls it on its
(B, V) float32 logits, the torch engine on `logits.cpu().numpy()`. `choose` is a one-off
convenience around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntext.errors import ConfigError
from rnntext.sampling import FRESH_SEED, SampleConfig, check_options


@dataclass(frozen=True)
class Rule:
    """How the next token is drawn from the logits: the token-choosing options of
    `rnntext.sampling.SampleConfig`, with its defaults and its checks."""

    temperature: float = SampleConfig.temperature
    top_k: int = SampleConfig.top_k
    top_p: float = SampleConfig.top_p
    greedy: bool = SampleConfig.greedy

    def __post_init__(self):
        check_options(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p, greedy=self.greedy)

    @classmethod
    def from_config(cls, sample_cfg) -> Rule:
        """The rule of a `rnntext.sampling.SampleConfig`."""
        return cls(sample_cfg.temperature, sample_cfg.top_k, sample_cfg.top_p, sample_cfg.greedy)

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature == 0 or self.top_k == 1


class Uniforms:
    """One float64 in [0, 1) per stream per step, from each stream's own PCG64 (see module doc)."""

    def __init__(self, seed: int, num_streams: int, block: int = 0):
        check_options(seed=seed)
        if seed == FRESH_SEED:  # the caller draws the seed (sampling.with_seed), to report it
            raise ConfigError("seed: -1 asks for a fresh seed, which the caller draws (rnntext.sampling.with_seed)")
        self.streams = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(b,))))
                        for b in range(num_streams)]
        # Drawing K numbers at once gives the same numbers as K single draws, at a fraction of
        # the per-call cost; the block is capped so that huge batches stay small in memory.
        self.block = block or max(1, min(1024, (1 << 20) // num_streams))
        self._table = np.empty((num_streams, self.block))  # (B, K): column t is step t's numbers
        self._next = self.block

    def next(self) -> np.ndarray:
        """The numbers of the next step: (B,) float64 (a view, valid until the next call)."""
        if self._next == self.block:
            for rng, row in zip(self.streams, self._table):
                rng.random(out=row)
            self._next = 0
        self._next += 1
        return self._table[:, self._next - 1]


class Sampler:
    """Draws one token per row of (B, V) logits under a `Rule`, with preallocated buffers."""

    def __init__(self, rule: Rule, batch: int, vocab_size: int):
        self.rule, self.B, self.V = rule, batch, vocab_size
        self.greedy = rule.is_greedy
        self.filtered = not self.greedy and (0 < rule.top_k < vocab_size or rule.top_p < 1)
        self.ids = np.zeros(batch, np.int64)           # (B,) the chosen tokens
        self.peak = np.zeros((batch, 1), np.float32)   # (B, 1) max logit
        self.w = np.zeros((batch, vocab_size))         # (B, V) float64 weights
        self.cdf = np.zeros((batch, vocab_size))       # (B, V) cumulative weights
        self.target = np.zeros((batch, 1))             # (B, 1) u * total weight
        self.below = np.zeros((batch, vocab_size), bool)

    def __call__(self, logits: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Token ids (B,) int64 for logits (B, V) and uniforms u (B,); the array is reused."""
        if self.greedy:
            return np.argmax(logits, axis=1, out=self.ids)
        if self.B == 1:
            return self._one(logits, float(u[0]))
        w = self.weights(logits)
        np.cumsum(w, axis=1, out=self.cdf)
        np.multiply(self.cdf[:, -1:], u[:, None], out=self.target)
        np.less_equal(self.cdf, self.target, out=self.below)
        self.below.sum(axis=1, out=self.ids)
        # u * total can round up to total itself (probability ~1e-16): stay inside the vocabulary.
        return np.minimum(self.ids, self.V - 1, out=self.ids)

    def _one(self, logits: np.ndarray, u: float) -> np.ndarray:
        # The same arithmetic as the batched path on 1-D views, with fewer NumPy calls:
        # searchsorted(side='right') counts the entries <= target, as the batched sum does.
        w = self.weights(logits)[0]
        cdf = np.cumsum(w, out=self.cdf[0])
        self.ids[0] = min(int(cdf.searchsorted(cdf[-1] * u, "right")), self.V - 1)
        return self.ids

    def weights(self, logits: np.ndarray) -> np.ndarray:
        """Unnormalised float64 sampling weights (B, V) after temperature, top-k and top-p."""
        w = self.w
        if self.B == 1:  # 1-D reductions cost fewer microseconds than axis=1 ones
            self.peak[0, 0] = logits[0].max()
        else:
            np.max(logits, axis=1, keepdims=True, out=self.peak)
        np.subtract(logits, self.peak, out=w, dtype=np.float64)
        np.divide(w, self.rule.temperature, out=w)
        np.exp(w, out=w)
        if self.filtered:
            self._filter(w)
        return w

    def _filter(self, w: np.ndarray) -> None:
        # Stable descending order of the weights: ties go to the lower token id.
        order = np.argsort(-w, axis=1, kind="stable")        # (B, V)
        ranked = np.take_along_axis(w, order, axis=1)          # (B, V) weights, largest first
        if 0 < self.rule.top_k < self.V:
            ranked[:, self.rule.top_k:] = 0
        if self.rule.top_p < 1:
            mass = np.cumsum(ranked, axis=1)                   # (B, V) mass up to each rank
            before = mass - ranked                             # mass strictly before each rank
            ranked[before >= self.rule.top_p * mass[:, -1:]] = 0
        np.put_along_axis(w, order, ranked, axis=1)


def choose(logits: np.ndarray, u: np.ndarray, rule: Rule) -> np.ndarray:
    """Token ids (B,) for logits (B, V) and uniforms u (B,): what every path computes."""
    logits = np.asarray(logits, np.float32)
    return Sampler(rule, *logits.shape)(logits, np.asarray(u, np.float64)).copy()


def probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of logits (B, V) at `temperature` (> 0), float64: for --top-probs and --verbose."""
    z = np.asarray(logits, np.float64)
    z = np.exp((z - z.max(axis=-1, keepdims=True)) / temperature)
    return z / z.sum(axis=-1, keepdims=True)


def top_tokens(probs: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k most likely (token id, probability) of one distribution (V,), most likely first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [(int(i), float(probs[i])) for i in order]
