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

Fed piece by piece, then flushed, StopText shows exactly cut(whole text).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np


def first_stop(text: str, stops: Sequence[str], start: int = 0) -> int | None:
    """Where the first stop string to be complete in `text` begins (searching from `start`), or None."""
    best = None
    for s in stops:
        i = text.find(s, start)
        if i >= 0 and (best is None or (i + len(s), i) < best):
            best = (i + len(s), i)
    return None if best is None else best[1]


def held(text: str, stops: Sequence[str]) -> int:
    """How many characters at the end of `text` could begin a stop string (a proper prefix of one)."""
    longest = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), longest, -1):
            if text.endswith(s[:k]):
                longest = k
                break
    return longest


def cut(text: str, stops: Sequence[str], partial: bool = False) -> str:
    """`text` before its first stop string. `partial`: the sample may go on, so a tail that could
    begin a stop string is held back too (what StopText would have shown so far)."""
    if not stops:
        return text
    at = first_stop(text, stops)
    if at is not None:
        return text[:at]
    return text[:len(text) - held(text, stops)] if partial else text


class StopText:
    """One sample's text fed piece by piece; `feed` returns what may be shown now, `stopped` says
    whether a stop string has appeared (everything from it on is dropped)."""

    def __init__(self, stops: Sequence[str]):
        self.stops, self.longest = tuple(stops), max(map(len, stops))
        self.buf, self.shown, self.stopped = "", 0, False  # buf[shown:] is not shown yet

    def feed(self, piece: str) -> str:
        if self.stopped or not piece:
            return ""
        start = max(0, len(self.buf) - self.longest + 1)  # a new match ends in `piece`
        self.buf += piece
        at = first_stop(self.buf, self.stops, start)
        self.stopped = at is not None
        end = at if self.stopped else len(self.buf) - held(self.buf, self.stops)
        out = self.buf[self.shown:max(end, self.shown)]
        self.shown = max(end, self.shown)
        drop = max(0, self.shown - self.longest)  # keep enough text before `shown` to search
        self.buf, self.shown = self.buf[drop:], self.shown - drop
        return out

    def flush(self) -> str:
        """The sample has ended: what was held back."""
        out = "" if self.stopped else self.buf[self.shown:]
        self.shown = len(self.buf)
        return out


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
