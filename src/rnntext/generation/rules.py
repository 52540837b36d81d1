"""Sampling rules on logits: temperature, top-k, top-p (nucleus), greedy and the repetition
penalty, in NumPy.

One random-number design serves every path (one stream, a batch, the torch engine on a GPU),
so the same seed gives the same text whichever produced it:

- Stream b of a batch draws from its own generator,
  ``np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(b,))))``,
  which is ``np.random.default_rng(seed).spawn(B)[b]``. Every step takes exactly one
  ``random()`` float64 u in [0, 1) from each stream, greedy steps included. A stream's text
  therefore depends on (seed, b) only: stream 0 of `--num-samples 256` is the text of
  `--num-samples 1` in float32 (a bfloat16 path, which auto may choose for many streams on a
  CPU with native bfloat16, rounds the logits differently). `Uniforms` hands them out (drawn in blocks: the same numbers).
- The token is the inverse CDF of u over float64 weights in vocabulary order:
  ``z = (float64(l) - max(l)) / T``; top-k then top-p zero the weights of the tokens they drop;
  ``w = exp(z)``, ``c = cumsum(w)``, token = the number of entries of c that are <= u * c[-1]
  (the first index whose cumulative weight exceeds u * c[-1]; a zero weight is never chosen).
- Greedy (`greedy`, temperature 0 or top_k 1) takes the first index of the largest logit.
  top_k keeps the k largest logits, ties broken by the lower index (a stable descending sort);
  top_p keeps, in that same order, each token whose preceding probability mass is below top_p
  (so the most likely token always stays and a tiny top_p is greedy). Temperature applies
  before both filters, as in most LM toolkits.
- The repetition penalty (CTRL, Keskar et al. 2019, in the form most toolkits apply it, since
  CTRL's plain division would raise a negative logit) comes first, on the model's logits:
  for every token stream b has already generated (its prime does not count), a logit l > 0
  becomes l / P and a logit l <= 0 becomes l * P; other logits are unchanged. `Penalty` keeps
  each stream's generated tokens and applies it.

`Sampler(rule, B, V)(logits, u)` is the one implementation: the runtime calls it on its
(B, V) float32 logits, the torch engine on `logits.cpu().numpy()`. `choose` is a one-off
convenience around it. `RowSampler(rules, V)` draws each row under a rule of its own (a
server's batch of requests): for every row, what `Sampler` would draw for that row alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rnntext.errors import ConfigError
from rnntext.options import check_values
from rnntext.sampling import FRESH_SEED, SampleConfig


@dataclass(frozen=True)
class Rule:
    """How the next token is drawn from the logits: the token-choosing options of
    `rnntext.sampling.SampleConfig`, with its defaults and its checks."""

    temperature: float = SampleConfig.temperature
    top_k: int = SampleConfig.top_k
    top_p: float = SampleConfig.top_p
    greedy: bool = SampleConfig.greedy
    repetition_penalty: float = SampleConfig.repetition_penalty

    def __post_init__(self):
        check_values(SampleConfig, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                     greedy=self.greedy, repetition_penalty=self.repetition_penalty)

    @classmethod
    def from_config(cls, sample_cfg) -> Rule:
        """The rule of a `rnntext.sampling.SampleConfig`."""
        return cls(sample_cfg.temperature, sample_cfg.top_k, sample_cfg.top_p, sample_cfg.greedy,
                   sample_cfg.repetition_penalty)

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature == 0 or self.top_k == 1


class Uniforms:
    """One float64 in [0, 1) per stream per step, from each stream's own PCG64 (see module doc)."""

    def __init__(self, seed: int, num_streams: int, block: int = 0):
        check_values(SampleConfig, seed=seed)
        if seed == FRESH_SEED:  # the caller draws the seed (sampling.with_seed), to report it
            raise ConfigError("seed: -1 asks for a fresh seed, which the caller draws (rnntext.sampling.with_seed)")
        self.streams = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(b,))))
                        for b in range(num_streams)]
        # Drawing K numbers at once gives the same numbers as K single draws, at a fraction of
        # the per-call cost; the block is capped so that huge batches stay small in memory.
        self.block = block or max(1, min(1024, (1 << 20) // num_streams))
        self._table = np.empty((num_streams, self.block))  # (B, K): column t is step t's numbers
        self._next = self.block

    def fill(self, table: np.ndarray) -> None:
        """Draw the next `block` numbers of every stream into table (B, block), row b stream b's:
        the block `next` would use (a server's batch holds the tables of many requests)."""
        for rng, row in zip(self.streams, table):
            rng.random(out=row)

    def next(self) -> np.ndarray:
        """The numbers of the next step: (B,) float64 (a view, valid until the next call)."""
        if self._next == self.block:
            self.fill(self._table)
            self._next = 0
        self._next += 1
        return self._table[:, self._next - 1]

    def floats(self) -> Iterator[float]:
        """One stream's numbers as Python floats, endlessly: `next()`'s for B = 1 (the same blocks)."""
        if len(self.streams) != 1:
            raise ValueError("floats is for one stream")
        rng, row = self.streams[0], self._table[0]
        while True:
            rng.random(out=row)
            yield from row.tolist()


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

    def one_draw(self):
        """For one stream (B = 1): a function (logits (1, V), u float) -> token id (int), the
        token `__call__` draws, with the unfiltered rule's arithmetic bound once."""
        if self.B != 1:
            raise ValueError("one_draw is for one stream")
        if self.greedy or self.filtered:
            return lambda logits, u: int(self(logits, np.array((u,)))[0])
        w, cdf, t, last = self.w[0], self.cdf[0], self.rule.temperature, self.V - 1
        subtract, divide, exp, cumsum, f64 = np.subtract, np.divide, np.exp, np.cumsum, np.float64

        def draw(logits: np.ndarray, u: float) -> int:
            row = logits[0]
            subtract(row, row.max(), out=w, dtype=f64)
            divide(w, t, out=w)
            exp(w, out=w)
            cumsum(w, out=cdf)
            return min(int(cdf.searchsorted(cdf[-1] * u, "right")), last)
        return draw

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
        filter_weights(w, *rule_filter(self.rule, self.V))


def rule_filter(rule: Rule, V: int) -> tuple[int, float]:
    """(keep, mass) of filter_weights for `rule`: V and inf where it does not filter."""
    return (rule.top_k if 0 < rule.top_k < V else V), (rule.top_p if rule.top_p < 1 else np.inf)


def filter_weights(w: np.ndarray, keep, mass) -> np.ndarray:
    """Top-k and top-p on float64 weights w (R, V), in place: a rank at or past `keep`, or one
    whose preceding weight reaches `mass` of the total, is zeroed. Ranks are the stable
    descending order (ties go to the lower token id). keep and mass: numbers for every row, or
    (R, 1) arrays of each row's."""
    order = np.argsort(-w, axis=1, kind="stable")        # (R, V)
    ranked = np.take_along_axis(w, order, axis=1)          # (R, V) weights, largest first
    ranked *= np.arange(w.shape[1]) < keep
    total = np.cumsum(ranked, axis=1)                      # (R, V) mass up to each rank
    ranked[total - ranked >= mass * total[:, -1:]] = 0     # the mass strictly before each rank
    np.put_along_axis(w, order, ranked, axis=1)
    return w


def penalize(logits: np.ndarray, seen: np.ndarray, penalty: float, out: np.ndarray | None = None) -> np.ndarray:
    """The repetition penalty on logits (B, V): where `seen` (B, V) is true, a positive logit is
    divided by `penalty` and any other multiplied by it (see the module doc); `out` may be given."""
    out = np.empty_like(logits) if out is None else out
    np.copyto(out, logits)
    positive = logits > 0
    np.divide(logits, out.dtype.type(penalty), out=out, where=seen & positive)
    np.multiply(logits, out.dtype.type(penalty), out=out, where=seen & ~positive)
    return out


class Penalty:
    """The repetition penalty of B streams: the tokens each has generated, and their logits
    penalised (`__call__`). A penalty of 1 changes nothing and costs nothing."""

    def __init__(self, penalty: float, batch: int, vocab_size: int):
        self.penalty, self.active = penalty, penalty != 1
        self.seen = np.zeros((batch, vocab_size) if self.active else (batch, 0), bool)
        self.out = np.zeros((batch, vocab_size) if self.active else (0, 0), np.float32)
        self.rows = np.arange(batch)

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        """The logits to draw from: `logits` itself when off, else penalised in a reused buffer."""
        return penalize(logits, self.seen, self.penalty, self.out) if self.active else logits

    def saw(self, ids: np.ndarray) -> None:
        """Note each stream's new token (ids (B,); -1, a stopped stream, is skipped)."""
        if self.active:
            ok = ids >= 0
            self.seen[self.rows[ok], ids[ok]] = True

    def reorder(self, indices: np.ndarray) -> None:
        """Stream b now continues stream indices[b] (beam search)."""
        self.seen = self.seen[indices]


class RowSampler:
    """Draws one token per row of (B, V) logits, row b under `rules[b]`: the arithmetic of
    `Sampler` (same weights, filters and inverse CDF, element for element) with the rule's
    numbers held per row, so each row's token is the one `Sampler(rules[b], 1, V)` draws."""

    def __init__(self, rules: Sequence[Rule], vocab_size: int):
        V = self.V = vocab_size
        greedy = np.array([r.is_greedy for r in rules], bool)
        self.greedy, self.drawn = np.flatnonzero(greedy), np.flatnonzero(~greedy)
        drawn = [rules[b] for b in self.drawn]
        self.temperature = np.array([[r.temperature] for r in drawn], np.float64)    # (D, 1)
        # Rows of the drawn ones that filter, with the ranks they keep (V: all) and the mass
        # that ends them (inf: none); a rule without a filter is left exactly as Sampler leaves it.
        filters = [(i, rule_filter(r, V)) for i, r in enumerate(drawn) if 0 < r.top_k < V or r.top_p < 1]
        self.filtered = np.array([i for i, _ in filters], np.int64)
        self.keep = np.array([[keep] for _, (keep, _) in filters], np.int64)
        self.mass = np.array([[mass] for _, (_, mass) in filters], np.float64)
        self.ids = np.zeros(len(rules), np.int64)

    def __call__(self, logits: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Token ids (B,) int64 for logits (B, V) and uniforms u (B,); the array is reused."""
        if len(self.greedy):
            self.ids[self.greedy] = np.argmax(logits[self.greedy], axis=1)
        if len(self.drawn):
            some = len(self.drawn) < len(self.ids)
            rows = logits[self.drawn] if some else logits
            w = np.subtract(rows, rows.max(axis=1, keepdims=True), dtype=np.float64)
            np.divide(w, self.temperature, out=w)
            np.exp(w, out=w)
            if len(self.filtered):
                w[self.filtered] = filter_weights(w[self.filtered], self.keep, self.mass)
            cdf = np.cumsum(w, axis=1, out=w)
            target = cdf[:, -1:] * (u[self.drawn] if some else u)[:, None]
            drawn = np.minimum((cdf <= target).sum(axis=1), self.V - 1)
            self.ids[self.drawn] = drawn
        return self.ids


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
