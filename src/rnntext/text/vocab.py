"""The vocabulary: tokens <-> ids, stored as JSON, round-tripping exactly.

Character level means Unicode code points (char-rnn split UTF-8 bytes, which broke
non-ASCII text). Byte level works on raw UTF-8 bytes, each stored as the Latin-1 character
of the same number so that both levels share one code path and one JSON form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rnntext.errors import InputError, RunError

LEVELS = ("char", "byte")


def symbols(level: str, text: str) -> str:
    """The text as a string of this level's symbols (bytes become Latin-1 characters)."""
    return text.encode("utf-8").decode("latin-1") if level == "byte" else text


def codes(level: str, text: str) -> np.ndarray:
    """Code points of the symbols of `text`: (N,) uint32."""
    return np.frombuffer(symbols(level, text).encode("utf-32-le"), dtype=np.uint32)


class TokenIndex:
    """Size, membership and token -> id over `tokens` and `_index`: every vocabulary has them."""

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def id(self, token: str) -> int:
        return self._index[token]


@dataclass(frozen=True)
class Vocab(TokenIndex):
    """An ordered token list; ids are positions. Char/byte vocabularies are sorted by code point."""

    level: str
    tokens: tuple[str, ...]
    _index: dict = field(init=False, repr=False, compare=False)
    _table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(set(self.tokens)) != len(self.tokens):
            raise RunError("vocabulary has duplicate tokens: the file is damaged; prepare the data again")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})
        codes = np.array([ord(t) for t in self.tokens], dtype=np.int64)
        table = np.full(int(codes.max(initial=0)) + 1, -1, dtype=np.int64)
        table[codes] = np.arange(len(codes))
        object.__setattr__(self, "_table", table)  # code point -> id, -1 where unknown

    def symbols(self, text: str) -> str:
        return symbols(self.level, text)

    def codes(self, text: str) -> np.ndarray:
        return codes(self.level, text)

    def encode(self, text: str) -> np.ndarray:
        """Ids of `text`: (N,) int64; raises InputError listing symbols outside the vocabulary."""
        ids = self.lookup(self.codes(text))
        if (ids < 0).any():
            missing = sorted(set(self.symbols(text)) - set(self.tokens))
            raise InputError(f"text has {len(missing)} symbol(s) outside the vocabulary: "
                             f"{''.join(missing)[:40]!r}: choose --unknown skip or replace:C")
        return ids

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """Ids for code points, -1 where unknown: (N,) int64."""
        codes = codes.astype(np.int64)
        out = np.full(codes.shape, -1, dtype=np.int64)
        inside = codes < len(self._table)
        out[inside] = self._table[codes[inside]]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        text = "".join(self.tokens[int(i)] for i in ids)
        return text.encode("latin-1").decode("utf-8", errors="replace") if self.level == "byte" else text

    def to_json(self) -> dict:
        return {"level": self.level, "tokens": list(self.tokens)}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        try:
            level, tokens = data["level"], data["tokens"]
        except (KeyError, TypeError):
            raise RunError("vocabulary JSON lacks 'level' or 'tokens': the file is damaged or foreign") from None
        if level not in LEVELS or not isinstance(tokens, list) or not all(isinstance(t, str) and len(t) == 1 for t in tokens):
            raise RunError(f"vocabulary JSON is not a valid {level!r} vocabulary: the file is damaged or foreign")
        return cls(level, tuple(tokens))


def build_vocab(level: str, chunks: Iterable[str]) -> tuple[Vocab, int]:
    """The sorted symbol set of all chunks, and the number of symbols read."""
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    seen = np.zeros(0x110000, dtype=bool)
    count = 0
    for chunk in chunks:
        points = codes(level, chunk)
        seen[points] = True
        count += len(points)
    return Vocab(level, tuple(chr(c) for c in np.flatnonzero(seen))), count
