"""Character level: one token per Unicode code point (the default level)."""

from __future__ import annotations

from rnntext.text.levels.symbols import SymbolLevel


class CharLevel(SymbolLevel):
    name = "char"
    token_name = "character"
    js_codec = """{
      encode: (v, text) => RnnText.text.lookup(v, Array.from(text)),
      decode: (v, ids) => ids.map((i) => v.tokens[i]).join(""),
    }"""


LEVEL = CharLevel()
