"""The stepping runtime: a trained model generating text from B streams, in NumPy float32.

    runtime = Runtime(model_cfg, vocab_size, weights)     # weights: PyTorch names -> arrays
    streams = runtime.streams(4)
    logits = streams.prime(prime_ids)                     # (4, V) after the prime
    for ids in streams.generate(200, Rule(temperature=0.8), seed=0, stop=end_id):
        ...                                               # ids: (4,) int64, -1 once a stream stopped

Why it is fast at batch 1, where NumPy's per-call overhead dominates: the weights are packed
once (packing.py), every buffer is preallocated and every call writes into it, a step is one
matrix product per layer plus a handful of element-wise calls (the cell's `numpy_step`,
rnntext.cells), and one stream uses 1-D matrix-vector products, which OpenBLAS splits over
the machine's cores. Batches use (B, ...) views of the same buffers and matrix-matrix products, or,
with `rowwise`, one matrix-vector product per stream: the very products of a lone stream, so
that each stream's numbers are a lone stream's bit for bit whatever else is in the batch (a
matrix-matrix product rounds differently with the batch's size, as BLAS picks its kernels by
shape; a server that groups requests wants each request's text independent of the others).
The prime runs layer by layer over the whole sequence: one table look-up for layer 0's inputs and
one matrix product per higher layer for theirs, leaving only the recurrent product per token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from rnntext import blas
from rnntext.generation.packing import Packed, pack
from rnntext.generation.rules import Penalty, Rule, Sampler, Uniforms
from rnntext.generation.stops import Ending
from rnntext.generation.threads import paced


class Runtime:
    """A model's packed weights; `streams(B)` makes the state for B streams that share them."""

    def __init__(self, model_cfg, vocab_size: int, weights: dict[str, np.ndarray], label: int | None = None):
        self.packed = pack(model_cfg, vocab_size, weights, label)
        self.vocab_size = vocab_size

    def streams(self, batch: int = 1, rowwise: bool = False) -> Streams:
        return Streams(self.packed, batch, rowwise)


def _matvec(w: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[b] = w @ x[b] for each row: np.matvec where NumPy has it (2.2), else a loop of the same products."""
    for row, dest in zip(x, out):
        np.matmul(w, row, out=dest)
    return out


MATVEC = getattr(np, "matvec", _matvec)


class Streams:
    """The recurrent state of B streams with preallocated buffers; call `prime` first.

    `rowwise`: multiply one stream at a time (see the module docstring); one stream always does.
    """

    def __init__(self, packed: Packed, batch: int, rowwise: bool = False):
        if batch < 1:
            raise ValueError(f"batch must be 1 or more, not {batch}")
        self.packed, self.B, self.V = packed, batch, packed.vocab_size
        hidden = packed.hidden
        # State as [h_0, 1, h_1, 1, ..., h_last, 1] (B, sum(H_k + 1)): a higher layer's input
        # [h_below, 1, h_k] and the output layer's [h_last, 1] are contiguous slices, and the
        # 1s carry the biases through the matrix products.
        starts = np.cumsum([0] + [H + 1 for H in hidden])
        self.hs = np.zeros((batch, starts[-1]), np.float32)
        self.hs[:, starts[1:] - 1] = 1
        one = batch == 1
        row = (lambda a: a[0]) if one else (lambda a: a)  # batch 1 works on 1-D views
        # A product of W (N, K) with x: W @ x for one stream (a matrix-vector product that
        # OpenBLAS threads), X @ W.T for a batch, W @ x[b] for each b of a rowwise batch.
        self.product = MATVEC if rowwise and not one else np.matmul
        mm = (lambda w, x: (w, row(x))) if one or rowwise else (lambda w, x: (x, w.T))
        self.h = [self.hs[:, s:s + H] for s, H in zip(starts, hidden)]
        self.pre = [np.zeros((batch, packed.rec(0)), np.float32)] + \
                   [np.zeros((batch, packed.width(k)), np.float32) for k in range(1, len(hidden))]
        self.kernels = [packed.cell.numpy_step(row(p), row(h)) for p, h in zip(self.pre, self.h)]
        self.rec = packed.rec(0)
        self.split = self.rec < packed.width(0)   # GRU: `in` comes from the table, not the product;
        # a cell without recurrent weights (rec 0): every row does, and there is no product
        self.first = mm(packed.rec0, self.h[0]) + (row(self.pre[0]),)
        # Higher layers: (lhs, rhs, out, kernel, xin) with GRU's `in` rows at the end of `pre`;
        # w's columns say what it multiplies: [h_below, 1, h_k], or [h_below, 1] without W_h.
        self.upper = [mm(w, self.hs[:, starts[k - 1]:starts[k - 1] + w.shape[1]]) + (row(self.pre[k]), self.kernels[k],
                      row(self.pre[k])[..., packed.rec(k):] if self.split else None)
                      for k, w in enumerate(packed.stacked, start=1)]
        self.logits = np.zeros((batch, self.V), np.float32)  # (B, V) after the last token fed
        self.last = mm(packed.out, self.hs[:, starts[-2]:]) + (row(self.logits),)
        self.gathered = np.zeros((batch, packed.width(0)), np.float32)  # (B, W_0) table rows
        self.primed = False
        self._shared = True   # every stream holds the same state (fresh, or just primed)
        self._single = None   # a one-stream twin that primes a batch in one sequence pass

    def reset(self) -> None:
        """Back to the zero state."""
        for kern in self.kernels:
            for a in kern.state:
                a[...] = 0
        self.primed, self._shared = False, True

    def step(self, ids) -> np.ndarray:
        """Feed one token per stream, ids (B,) ints; returns the next-token logits (B, V) float32."""
        p = self.packed
        if self.B == 1:
            row = p.table[int(ids[0])]                          # (W_0,) a view, no copy
        else:
            row = np.take(p.table, ids, axis=0, out=self.gathered)  # (B, W_0)
        a, b, out = self.first
        if not self.rec:
            self.kernels[0](row)
        elif self.split:
            self.product(a, b, out=out)
            np.add(out, row[..., :self.rec], out=out)
            self.kernels[0](row[..., self.rec:])
        else:
            self.product(a, b, out=out)
            np.add(out, row, out=out)
            self.kernels[0]()
        for a, b, out, kern, xin in self.upper:
            self.product(a, b, out=out)
            kern(xin)
        a, b, out = self.last
        self.product(a, b, out=out)
        self.primed, self._shared = True, False
        return self.logits

    def one_step(self):
        """`step` for one stream as a function of a token id (an int): the same products and
        kernels, bound once (a lone stream's generation loop calls it per character)."""
        if self.B != 1:
            raise ValueError("one_step is for one stream")
        table, (a, b, out), first = self.packed.table, self.first, self.kernels[0]
        rec, upper, (la, lb, lout) = self.rec, self.upper, self.last
        matmul, add = np.matmul, np.add

        if not rec:
            def layer0(token):
                first(table[token])
        elif self.split:
            def layer0(token):
                row = table[token]
                matmul(a, b, out=out)
                add(out, row[:rec], out=out)
                first(row[rec:])
        else:
            def layer0(token):
                matmul(a, b, out=out)
                add(out, table[token], out=out)
                first()

        def step(token: int) -> None:
            layer0(token)
            for ua, ub, uout, kern, xin in upper:
                matmul(ua, ub, out=uout)
                kern(xin)
            matmul(la, lb, out=lout)
        return step

    def prime(self, ids: Sequence[int]) -> np.ndarray:
        """Feed the same tokens (T,) to every stream from its current state; returns logits (B, V).

        One stream, or streams that share a state, take one sequence pass; streams that
        already differ are fed token by token.
        """
        ids = np.asarray(ids, np.int64).reshape(-1)
        if len(ids) == 0:
            raise ValueError("prime with at least one token (the CLI starts from a newline)")
        if ids.min() < 0 or ids.max() >= self.V:
            raise ValueError(f"token ids must be in [0, {self.V})")
        if self.B > 1 and not self._shared:
            for t in ids:
                self.step(np.full(self.B, t))
            return self.logits
        one = self if self.B == 1 else self._twin()
        one._sequence_pass(ids)
        if one is not self:
            for mine, its in zip(self._state(), one._state()):
                mine[...] = its                                # broadcast (1, ...) to (B, ...)
            self.logits[...] = one.logits
        self.primed, self._shared = True, True
        return self.logits

    def reorder(self, indices) -> None:
        """Stream b takes the state and logits stream indices[b] has (beam search keeps its best
        hypotheses so): every state array of every layer, in place. indices: (B,) ints."""
        indices = np.asarray(indices, np.int64).reshape(-1)
        if len(indices) != self.B or indices.min() < 0 or indices.max() >= self.B:
            raise ValueError(f"reorder takes {self.B} stream indices in [0, {self.B})")
        if self.B == 1:
            return
        shared = self._shared or bool((indices == indices[0]).all())
        self.copy_streams(slice(None), self, indices)
        self._shared = shared

    def copy_streams(self, at, source: Streams, rows) -> None:
        """Streams `at` of this batch take the state and last logits of `source`'s streams `rows`
        (index arrays or slices of equal length; `source` may be this batch). For a scheduler
        that regroups streams between steps: a request primed alone joins a batch, others leave."""
        rows2d = lambda a: a if a.ndim == 2 else a[None]  # noqa: E731  one stream's state is 1-D
        for mine, its in zip(self._state(), source._state()):
            rows2d(mine)[at] = rows2d(its)[rows]
        self.logits[at] = source.logits[rows]
        self.primed, self._shared = True, False

    def _twin(self) -> Streams:
        if self._single is None:
            self._single = Streams(self.packed, 1)
        for its, mine in zip(self._single._state(), self._state()):
            its[...] = mine[0]
        return self._single

    def _state(self) -> list[np.ndarray]:
        return [a for kern in self.kernels for a in kern.state]

    # The thread count a generation loop steps on (rnntext.generation.threads): NumPy's BLAS threads.
    def thread_counts(self) -> list[int]:
        n = blas.threads()
        return [n, 1] if n > 1 else []

    def use_threads(self, n: int) -> None:
        blas.set_threads(n)

    def snapshot(self) -> list[np.ndarray]:
        """Copies of the state and the logits (`restore` puts them back)."""
        return [a.copy() for a in self._state()] + [self.logits.copy()]

    def restore(self, saved: list[np.ndarray]) -> None:
        for mine, its in zip(self._state() + [self.logits], saved):
            mine[...] = its

    def _sequence_pass(self, ids: np.ndarray) -> None:
        """One stream: run the prime (T,) layer by layer; only the recurrent product is per token."""
        p = self.packed
        outputs = self._layer_pass(0, p.table[ids], p.rec0)        # table rows: (T, W_0)
        for k, w in enumerate(p.stacked, start=1):                  # w: (W_k, D + 1 + H_k)
            D = p.hidden[k - 1]
            inputs = outputs @ w[:, :D].T + w[:, D]                 # (T, W_k) every input projection at once
            w_h = np.ascontiguousarray(w[:p.rec(k), D + 1:])       # (rec_k, H_k): BLAS is slower on the strided view
            outputs = self._layer_pass(k, inputs, w_h)
        a, b, out = self.last
        np.matmul(a, b, out=out)

    def _layer_pass(self, k: int, inputs: np.ndarray, w_h: np.ndarray) -> np.ndarray:
        """Layer k over pre-activations from its inputs (T, W_k); returns its outputs (T, H_k)."""
        rec, kern = w_h.shape[0], self.kernels[k]
        h, pre = self.h[k][0], self.pre[k][0, :rec]                 # (H_k,), (rec_k,)
        outputs = np.empty((len(inputs), len(h)), np.float32)       # (T, H_k)
        for t, x in enumerate(inputs):
            if rec:
                np.matmul(w_h, h, out=pre)
                np.add(pre, x[:rec], out=pre)
            kern(x[rec:])                                           # GRU's `in` rows, or all; else empty
            outputs[t] = h
        return outputs

    def generate(self, length: int, rule: Rule, seed: int = 0, stop: int | None = None,
                 watch=None) -> Iterator[np.ndarray]:
        """Yield `length` steps of tokens, each (B,) int64: see `generate`."""
        return generate(self, length, rule, seed, stop, watch)


def generate(streams, length: int, rule: Rule, seed: int = 0, stop: int | None = None,
             watch=None) -> Iterator[np.ndarray]:
    """Yield `length` steps of tokens, each (B,) int64, drawn as rules.py documents.

    `streams` is any object with B, V, primed, logits (B, V) and step(ids): this runtime's
    Streams or the torch engine's. While the generator waits at a yield, `streams.logits`
    still holds the logits the yielded tokens were drawn from (before the repetition penalty;
    for --verbose). A stream stops after it has produced the token `stop`, or when `watch`
    (a rnntext.generation.stops.StopWatch: the stop strings) says so: it yields -1 from then
    on, and the generator ends early once every stream has stopped.
    """
    if isinstance(streams, Streams) and streams.B == 1 and stop is None and watch is None \
            and rule.repetition_penalty == 1:
        return _lone(streams, length, rule, seed)
    return _steps(streams, length, rule, seed, stop, watch)


def _steps(streams, length: int, rule: Rule, seed: int, stop: int | None, watch) -> Iterator[np.ndarray]:
    if not streams.primed:
        raise ValueError("prime the streams before generating")
    sample, uniforms = Sampler(rule, streams.B, streams.V), Uniforms(seed, streams.B)
    penalty = Penalty(rule.repetition_penalty, streams.B, streams.V)
    ending = Ending(streams.B, penalty, stop, watch)
    step, done = paced(streams, streams.step)
    try:
        for n in range(length):
            ids = sample(penalty(streams.logits), uniforms.next())
            yield ending.take(ids)
            if n + 1 == length or ending.all_stopped():
                return
            step(ids)
    finally:
        done()


def _lone(streams: Streams, length: int, rule: Rule, seed: int) -> Iterator[np.ndarray]:
    """`_steps` for one NumPy stream with nothing to stop it and no penalty, the command line's
    usual case: the same numbers and the same NumPy calls (Sampler's one-stream arithmetic,
    Streams.step's products), with the per-step Python around them cut to a few local names."""
    if not streams.primed:
        raise ValueError("prime the streams before generating")
    sample, uniforms = Sampler(rule, 1, streams.V), Uniforms(seed, 1)
    logits, draw = streams.logits, sample.one_draw()
    step, done = paced(streams, streams.one_step())
    streams.primed, streams._shared = True, False
    try:
        for n, u in zip(range(length), uniforms.floats()):
            token = draw(logits, u)
            yield np.array((token,), np.int64)
            if n + 1 < length:
                step(token)
    finally:
        done()

