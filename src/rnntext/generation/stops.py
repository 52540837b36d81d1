"""Stop strings: a sample ends where its text first contains one, and the string never shows.

Matching is on the generated text as it decodes (not on token ids), so a stop string may span
several tokens or end inside one, at every level: bytes that complete a character, words with
their spacing, subwords. The prime is not searched. Where two stop strings match, the one that
is complete first wins (then the one that starts first), which is also where generation ends:

    cut(text, stops)              whole text: everything before the first stop string
    StopText(stops).feed(piece)   piece by piece: the text that is safe to show now; a tail that
                                  could still become a stop string is held back until it cannot
    StopWatch(decoder, stops, B)  B streams' ids as they are generated: which have just stopped
                                  (rnntext.generation.runtime.generate and beam search end them there)
    Ending(B, penalty, stop, watch)  one drawn step in, the step as yielded out (-1 for a stream
                                  that had stopped): generate's and the server's requests' one
                                  record of which streams have ended

Fed piece by piece, then flushed, StopText shows exactly cut(whole text). The strings are
matched by one automaton (StopIndex), which reads each character once: a check costs time in
proportion to the new text, not to the number or the length of the stop strings.
"""

from __future__ import annotations

import copy
import functools
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np


class StopIndex:
    """The stop strings as one Aho-Corasick automaton (Aho & Corasick 1975): text is read once,
    a character at a time, whatever the number of strings, so a stop check costs time in
    proportion to the new text. A state is a trie node, the longest suffix of the text read that
    begins some stop string; its depth is that suffix's length (the text to hold back); `ends`
    is the length of the longest stop string that ends there (0: none), which, of the strings
    complete first, is the one that starts first. Built once per set of strings (`of`), shared
    by every stream that watches them, and never changed after."""

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(stops)
        self.goto: list[dict[str, int]] = [{}]
        self.depth, self.ends = [0], [0]
        for s in self.stops:
            node = 0
            for ch in s:
                if ch not in self.goto[node]:
                    self.goto[node][ch] = len(self.goto)
                    self.goto.append({})
                    self.depth.append(self.depth[node] + 1)
                    self.ends.append(0)
                node = self.goto[node][ch]
            self.ends[node] = len(s)
        self.fail = [0] * len(self.goto)
        queue = deque(self.goto[0].values())
        while queue:  # breadth first: a node's fail state is shallower, so already complete
            node = queue.popleft()
            for ch, child in self.goto[node].items():
                f = self.fail[node]
                while f and ch not in self.goto[f]:
                    f = self.fail[f]
                self.fail[child] = self.goto[f][ch] if node and ch in self.goto[f] else 0
                self.ends[child] = self.ends[child] or self.ends[self.fail[child]]
                queue.append(child)

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def of(stops: tuple[str, ...]) -> StopIndex:
        """The automaton of `stops` (made once for each set of strings a process sees recently)."""
        return StopIndex(stops)

    def scan(self, state: int, text: str) -> tuple[int, int]:
        """Read `text` from `state`: (the state after it, the index in `text` just past the first
        stop string completed), or (the state after all of it, -1) when none is."""
        goto, fail, ends = self.goto, self.fail, self.ends
        for i, ch in enumerate(text):
            while state and ch not in goto[state]:
                state = fail[state]
            state = goto[state].get(ch, 0)
            if ends[state]:
                return state, i + 1
        return state, -1


def cut(text: str, stops: Sequence[str], partial: bool = False) -> str:
    """`text` before its first stop string. `partial`: the sample may go on, so a tail that could
    begin a stop string is held back too (what StopText would have shown so far)."""
    if not stops:
        return text
    index = StopIndex.of(tuple(stops))
    state, end = index.scan(0, text)
    if end >= 0:
        return text[:end - index.ends[state]]
    return text[:len(text) - index.depth[state]] if partial else text


class StopText:
    """One sample's text fed piece by piece; `feed` returns what may be shown now, `stopped` says
    whether a stop string has appeared (everything from it on is dropped). Only the text held
    back is kept: the automaton's state stands for everything before it."""

    def __init__(self, stops: Sequence[str]):
        self.index = StopIndex.of(tuple(stops))
        self.state, self.buf, self.stopped = 0, "", False  # buf: the text held back, not shown yet

    def feed(self, piece: str) -> str:
        if self.stopped or not piece:
            return ""
        self.state, end = self.index.scan(self.state, piece)
        self.stopped = end >= 0
        text = self.buf + piece
        if self.stopped:  # a stop string ends inside `piece`: show what comes before it
            out, self.buf = text[:len(self.buf) + end - self.index.ends[self.state]], ""
        else:
            keep = self.index.depth[self.state]
            out, self.buf = text[:len(text) - keep], text[len(text) - keep:]
        return out

    def flush(self) -> str:
        """The sample has ended: what was held back."""
        out = "" if self.stopped else self.buf
        self.buf = ""
        return out

    def __deepcopy__(self, memo):
        return copy.copy(self)  # the automaton is shared and never changed; the rest is immutable values


class StopDecoder:
    """A level's stream decoder (rnntext.text.levels) with stop strings: `feed(ids) -> str` and
    `flush() -> str` show the sample's text up to its first stop string, never the string."""

    def __init__(self, decoder, stops: Sequence[str]):
        self.decoder, self.text = decoder, StopText(stops)

    @property
    def stopped(self) -> bool:
        return self.text.stopped

    def feed(self, ids) -> str:
        return self.text.feed(self.decoder.feed(ids))

    def flush(self) -> str:
        return self.text.feed(self.decoder.flush()) + self.text.flush()

    def __deepcopy__(self, memo):
        """A copy that shares the (read-only) vocabulary: beam search copies surviving beams."""
        memo[id(self.decoder.vocab)] = self.decoder.vocab
        twin = copy.copy(self)
        twin.decoder, twin.text = copy.deepcopy(self.decoder, memo), copy.deepcopy(self.text, memo)
        return twin


class StopWatch:
    """B streams' generated ids, decoded as they come: `__call__(ids)` returns which streams have
    just reached a stop string. `make_decoder()` makes one stream's decoder (Model.decoder)."""

    def __init__(self, make_decoder: Callable, stops: Sequence[str], batch: int):
        self.rows = [StopDecoder(make_decoder(), stops) for _ in range(batch)]

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        ended = np.zeros(len(ids), bool)
        for b, i in enumerate(np.asarray(ids).tolist()):
            row = self.rows[b]
            if i >= 0 and not row.stopped:
                row.feed([i])
                ended[b] = row.stopped
        return ended

    def reorder(self, indices) -> None:
        """Row b becomes a copy of row indices[b] (beam search's surviving beams)."""
        self.rows = [copy.deepcopy(self.rows[i]) for i in indices]


class Ending:
    """Which of B streams have ended: after the token `stop` (None: no stop token) or when
    `watch` (a StopWatch) says so. `take(ids)` returns the step as it is yielded, -1 for a stream
    that had stopped before it, and tells `penalty` (rules.Penalty) what each stream produced."""

    def __init__(self, B: int, penalty, stop: int | None = None, watch: StopWatch | None = None):
        self.penalty, self.stop, self.watch = penalty, stop, watch
        self.stopped = np.zeros(B, bool)

    def take(self, ids: np.ndarray) -> np.ndarray:
        out = ids.copy()
        out[self.stopped] = -1
        self.penalty.saw(out)
        if self.stop is not None:
            self.stopped |= ids == self.stop
        if self.watch is not None:
            self.stopped |= self.watch(out)
        return out

    def all_stopped(self) -> bool:
        return bool(self.stopped.all())
