"""What the char and byte levels share: a vocabulary of single symbols, stored as JSON.

Character level means Unicode code points (char-rnn split UTF-8 bytes, which broke
non-ASCII text). Byte level works on raw UTF-8 bytes, each stored as the Latin-1 character
of the same number, so that both levels share this one code path and one JSON form
({"level": ..., "tokens": [...]}); the level module says how text becomes symbols and back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rnntext.errors import InputError, RunError
from rnntext.faces import ask
from rnntext.text import levels
from rnntext.text.levels.base import Level, TokenIndex


class SymbolLevel(Level):
    """A level whose tokens are single symbols: code points (char) or bytes (byte). Line mode uses
    the control characters STX and ETX, single symbols like every other token."""

    line_start, line_end = "\x02", "\x03"
    line_joiner = ""
    restart_tokens = ("\n", ".")

    def show_prime(self, decoder, prime: str, ids) -> str:
        """Symbols stand alone: the prime is shown as typed (with any symbols the model skipped)."""
        return prime

    def symbols(self, text: str) -> str:
        """The text as a string of this level's symbols."""
        return text

    def text(self, symbols: str) -> str:
        """The text a string of symbols stands for (the inverse of `symbols`)."""
        return symbols

    def codes(self, text: str) -> np.ndarray:
        """Code points of the symbols of `text`: (N,) uint32."""
        return np.frombuffer(self.symbols(text).encode("utf-32-le"), dtype=np.uint32)

    def build(self, data_cfg, chunks: Iterable[str]):
        return build_vocab(self.name, chunks)

    def from_json(self, data: dict):
        return Vocab.from_json(data)

    def vocab_of(self, tokens: Iterable[str]):
        """The vocabulary of these tokens, in this order (checked as a stored one is)."""
        return Vocab.from_json({"level": self.name, "tokens": list(tokens)})

    def encode(self, vocab, text: str) -> np.ndarray:
        return vocab.lookup(self.codes(text))  # -1 marks symbols outside the vocabulary

    def lookup_tokens(self, vocab, text: str) -> tuple[np.ndarray, list[str]]:
        ids = vocab.lookup(self.codes(text))
        symbols = self.symbols(text)
        return ids, sorted({symbols[i] for i in np.flatnonzero(ids < 0)})

    def join_unknown(self, missing: list[str]) -> str:
        return "".join(missing)

    def metrics(self, loss: float) -> dict:
        """Also bits per symbol (bpc: bits per character, or per byte at byte level)."""
        return {**super().metrics(loss), "bpc": loss / math.log(2)}


@dataclass(frozen=True)
class Vocab(TokenIndex):
    """An ordered token list; ids are positions. Char/byte vocabularies are sorted by code point."""

    level: str
    tokens: tuple[str, ...]
    _index: dict = field(init=False, repr=False, compare=False)
    _table: np.ndarray = field(init=False, repr=False, compare=False)
    _level: SymbolLevel = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(set(self.tokens)) != len(self.tokens):
            raise RunError("vocabulary has duplicate tokens: the file is damaged; prepare the data again")
        object.__setattr__(self, "_level", _known_symbol_level(self.level))
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})
        codes = np.array([ord(t) for t in self.tokens], dtype=np.int64)
        table = np.full(int(codes.max(initial=0)) + 1, -1, dtype=np.int64)
        table[codes] = np.arange(len(codes))
        object.__setattr__(self, "_table", table)  # code point -> id, -1 where unknown

    def symbols(self, text: str) -> str:
        return self._level.symbols(text)

    def codes(self, text: str) -> np.ndarray:
        return self._level.codes(text)

    def encode(self, text: str) -> np.ndarray:
        """Ids of `text`: (N,) int64; raises InputError listing symbols outside the vocabulary."""
        ids = self.lookup(self.codes(text))
        if (ids < 0).any():
            missing = sorted(set(self.symbols(text)) - set(self.tokens))
            raise InputError(f"text has {len(missing)} symbol(s) outside the vocabulary: "
                             f"{''.join(missing)[:40]!r}: choose {ask('unknown', 'skip')} or {ask('unknown', 'replace:C')}")
        return ids

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """Ids for code points, -1 where unknown: (N,) int64."""
        codes = codes.astype(np.int64)
        out = np.full(codes.shape, -1, dtype=np.int64)
        inside = codes < len(self._table)
        out[inside] = self._table[codes[inside]]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        return self._level.text("".join(self.tokens[int(i)] for i in ids))

    def to_json(self) -> dict:
        return {"level": self.level, "tokens": list(self.tokens)}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        try:
            level, tokens = data["level"], data["tokens"]
        except (KeyError, TypeError):
            raise RunError("vocabulary JSON lacks 'level' or 'tokens': the file is damaged or foreign") from None
        valid = isinstance(tokens, list) and all(isinstance(t, str) and len(t) == 1 for t in tokens)
        if not valid or _symbol_level(level) is None:
            raise RunError(f"vocabulary JSON is not a valid {level!r} vocabulary: the file is damaged or foreign")
        return cls(level, tuple(tokens))


def _symbol_level(name) -> SymbolLevel | None:
    """The symbol level called `name`, or None where no symbol level has that name."""
    level = levels.get(name) if name in levels.NAMES else None
    return level if isinstance(level, SymbolLevel) else None


def _known_symbol_level(name) -> SymbolLevel:
    level = _symbol_level(name)
    if level is None:
        names = [n for n in levels.NAMES if _symbol_level(n)]
        raise InputError(f"unknown level {name!r}: use one of {', '.join(names)}")
    return level


def build_vocab(level: str, chunks: Iterable[str]) -> tuple[Vocab, int]:
    """The sorted symbol set of all chunks, and the number of symbols read."""
    spec = _known_symbol_level(level)
    seen = np.zeros(0x110000, dtype=bool)
    count = 0
    for chunk in chunks:
        points = spec.codes(chunk)
        seen[points] = True
        count += len(points)
    return Vocab(level, tuple(chr(c) for c in np.flatnonzero(seen))), count
