"""Character level: one token per Unicode code point (the default level)."""

from __future__ import annotations

from rnntext.text.levels.symbols import SymbolLevel


class CharLevel(SymbolLevel):
    name = "char"
    token_name = "character"


LEVEL = CharLevel()
