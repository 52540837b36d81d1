"""Word level: a tokenizer, its inverse for display, and a frequency-ranked vocabulary.

Two tokenizer modes. "punct" splits punctuation from words the way the TensorFlow lab's text
is written ("recurrent neural networks , or rnns ( rumelhart et al ."); words keep their
internal apostrophes and hyphens ("don't", "state-of-the-art") and numbers their internal
separators ("3.14", "10,000"). "space" splits on whitespace only, for corpora that are
tokenized already (PTB, whose `<unk>` and `N` are ordinary tokens there).

Line ends: with `eos=True` every "\\n" becomes the token `<eos>` (pytorch/examples' word
language model); with `eos=False` a line end is only a word separator, in both modes. There
is deliberately no third "keep \\n as a token" setting: `<eos>` is that token, and
`detokenize` turns it back into a line end. Case is left alone: lowercasing is a
normalisation step of read.py.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rnntext.errors import ConfigError, RunError
from rnntext.text.levels.base import Level, StreamDecoder, TokenIndex

MODES = ("punct", "space")
UNK, EOS = "<unk>", "<eos>"
# Tags that stay one token in punct mode, so a PTB-style corpus keeps its <unk> there too.
TAGS = ("<unk>", "<eos>", "<s>", "</s>", "<pad>")

# detokenize: no space before these (and closing brackets and quotes, by Unicode category),
# including clitics as PTB splits them ("abc 's", "do n't") ...
_NO_SPACE_BEFORE = set(",.;:!?%…।॥。，、！？：；") | {"'s", "'re", "'ve", "'ll", "'d", "'m", "n't"}
# ... none after these (and opening brackets and quotes) ...
_NO_SPACE_AFTER = set("¿¡$£€¥")
# ... and none on either side of these (dashes written closed up, slashes).
_CLOSED = {"—", "–", "--", "/"}
_QUOTES = {'"', "'"}  # straight quotes: alternately opening and closing within a line

# The word level's encoder and decoder in JavaScript (Level.js_codec): the "punct" tokenizer's
# pattern (\p classes for Python's \w and the combining marks) or whitespace for "space", <eos>
# for line ends when the vocabulary has them, unknown words as <unk>; decoding spaces tokens
# with the flags token_spacing computes with detokenize, straight quotes alternating.
JS_CODEC = r"""(() => {
  const TAGS = @TAGS@, UNK = @UNK@, EOS = @EOS@;
  const WORD = new RegExp(TAGS.map((t) => t.replace(/[/]/g, "\\/")).join("|")
    + "|[\\p{L}\\p{N}\\p{M}_]+(?:(?:['’\\-]|(?<=\\p{Nd})[.,:](?=\\p{Nd}))[\\p{L}\\p{N}\\p{M}_]+)*|([.!?\\-])\\1*|\\S", "gu");
  const split = (v, line) => (v.mode === "space" ? line.split(/\s+/).filter(Boolean) : line.match(WORD) || []);

  function tokens(v, text) {  // tokenize_words
    if (!v.eos) return split(v, text);
    const lines = text.split("\n");
    return lines.flatMap((line, i) => (i < lines.length - 1 ? [...split(v, line), EOS] : split(v, line)));
  }

  function detokenize(v, ids) {  // detokenize, with each token's spacing from the export
    let out = "", glue = true, quotes = new Set();
    for (const id of ids) {
      const token = v.tokens[id];
      if (token === EOS) { out += "\n"; glue = true; quotes = new Set(); continue; }
      let [before, after] = v.spacing[id];
      if (token === '"' || token === "'") {
        const opening = !quotes.has(token);
        if (opening) quotes.add(token); else quotes.delete(token);
        before = !opening; after = opening;
      }
      if (!(glue || before)) out += " ";
      out += token;
      glue = after;
    }
    return out;
  }

  return {
    encode(v, text) {  // unknown words become <unk>, which is what the word level trains on
      const index = RnnText.text.byName(v), unknown = [];
      const ids = tokens(v, text).map((t) => (index.has(t) ? index.get(t) : (unknown.push(t), index.get(UNK))));
      return { ids, unknown };
    },
    decode: detokenize,
  };
})()""".replace("@TAGS@", json.dumps(TAGS)).replace("@UNK@", json.dumps(UNK)).replace("@EOS@", json.dumps(EOS))


def _spacing(token: str) -> tuple[bool, bool]:
    """(no space before, no space after) the token; a run such as "..." spaces like "."."""
    if token in _CLOSED:
        return True, True
    if len(token) > 1 and token.strip(token[0]) == "":
        token = token[0]
    category = unicodedata.category(token[0]) if len(token) == 1 else ""
    return token in _NO_SPACE_BEFORE or category in ("Pe", "Pf"), token in _NO_SPACE_AFTER or category in ("Ps", "Pi")


@functools.cache
def _token_pattern() -> re.Pattern:
    # \w alone splits words at combining marks (Devanagari vowel signs, NFD accents), so
    # marks count as word characters too. Built on first use: ~0.1 s the CLI need not pay.
    marks = "".join(re.escape(chr(c)) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] == "M")
    w = rf"[\w{marks}]"
    joiner = r"(?:['’\-]|(?<=\d)[.,:](?=\d))"  # don't, state-of-the-art, 3.14, 10:30
    tags = "|".join(re.escape(t) for t in TAGS)
    # Any other non-space character is a token of its own, except that a run of dots, dashes,
    # "!" or "?" is one token: "..." is one mark (an ellipsis), "--" one dash.
    return re.compile(rf"{tags}|{w}+(?:{joiner}{w}+)*|([.!?\-])\1*|\S")


def _split_line(line: str, mode: str) -> list[str]:
    if mode == "space":
        return line.split()
    return [m.group() for m in _token_pattern().finditer(line)]


def tokenize_words(text: str, mode: str = "punct", eos: bool = False) -> list[str]:
    """The word tokens of `text`; with `eos`, an `<eos>` for every "\\n" (none added at the end)."""
    if mode not in MODES:
        raise ConfigError(f"unknown word tokenizer mode {mode!r}: use one of {', '.join(MODES)}")
    if not eos:
        return _split_line(text, mode)
    lines = text.split("\n")
    tokens: list[str] = []
    for line in lines[:-1]:
        tokens += _split_line(line, mode)
        tokens.append(EOS)
    return tokens + _split_line(lines[-1], mode)


class Detokenizer:
    """`detokenize` one token at a time: `add` returns the text a token adds, with the space
    before it. What a token adds depends on the tokens before it only, so streamed text is
    never revised."""

    def __init__(self):
        self.glue = True  # no space before the next token (start of text, after a line end or opener)
        self.open_quotes: set[str] = set()

    def add(self, token: str) -> str:
        if token == EOS:
            self.glue, self.open_quotes = True, set()
            return "\n"
        before, after = _spacing(token)
        if token in _QUOTES:
            opening = token not in self.open_quotes
            self.open_quotes ^= {token}
            before, after = not opening, opening
        space = "" if self.glue or before else " "
        self.glue = after
        return space + token


def detokenize(tokens: Iterable[str]) -> str:
    """Readable text: no space before closing punctuation, none after opening brackets,
    `<eos>` as a line end. Straight quotes alternate opening/closing within each line.
    Tokenizing the result gives back text that detokenizes the same (a fixed point), though
    not always the same tokens ("do n't" shows as "don't")."""
    words = Detokenizer()
    return "".join(words.add(token) for token in tokens)


def count_words(chunks: Iterable[str], mode: str = "punct", eos: bool = False) -> Counter:
    """Token counts over text chunks. read.py cuts chunks at line ends, so no word is split
    and a corpus larger than memory is counted without holding its tokens."""
    counts: Counter = Counter()
    for chunk in chunks:
        counts.update(tokenize_words(chunk, mode, eos))
    return counts


@dataclass(frozen=True)
class WordVocab(TokenIndex):
    """Word tokens <-> ids. Special tokens come first (in the order given), then the corpus's
    words by falling frequency. Words outside it encode as `<unk>`."""

    tokens: tuple[str, ...]
    mode: str = "punct"
    eos: bool = False
    level: str = field(default="word", init=False)
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(set(self.tokens)) != len(self.tokens):
            raise RunError("vocabulary has duplicate tokens: the file is damaged; prepare the data again")
        if UNK not in self.tokens:
            raise RunError(f"word vocabulary lacks {UNK}: the file is damaged; prepare the data again")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def from_counts(cls, counts: Counter, mode: str = "punct", eos: bool = False, min_count: int = 1,
                    max_vocab: int = 0, specials: Iterable[str] = (UNK,)) -> WordVocab:
        """Specials, then words seen at least `min_count` times, most frequent first, ties in
        code-point order (so the same corpus gives the same ids on every machine); at most
        `max_vocab` tokens in all, specials included (0: no limit). `<unk>` is always a special."""
        specials = tuple(dict.fromkeys((UNK, *specials) if UNK not in specials else specials))
        if min_count < 1:
            raise ConfigError(f"--min-count must be at least 1, got {min_count}")
        if max_vocab and max_vocab <= len(specials):
            raise ConfigError(f"--max-vocab {max_vocab} leaves no room for words beside the "
                              f"{len(specials)} special token(s): raise it or use 0 for no limit")
        # A corpus's own <unk> (PTB) or <eos> is counted but keeps its special place: no duplicate.
        words = sorted((w for w, n in counts.items() if n >= min_count and w not in specials),
                       key=lambda w: (-counts[w], w))
        if max_vocab:
            words = words[: max_vocab - len(specials)]
        return cls(specials + tuple(words), mode, eos)

    @property
    def unk_id(self) -> int:
        return self._index[UNK]

    def tokenize(self, text: str) -> list[str]:
        """`text` split with this vocabulary's tokenizer settings."""
        return tokenize_words(text, self.mode, self.eos)

    def lookup(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids of tokens, -1 where unknown: (N,) int64. Callers choose to fail, skip or use unk_id."""
        get = self._index.get
        return np.fromiter((get(t, -1) for t in tokens), dtype=np.int64)

    def encode(self, text_or_tokens: str | Iterable[str]) -> np.ndarray:
        """Ids of a text (tokenized with this vocabulary's settings) or of tokens: (N,) int64;
        unknown words become `<unk>`, which is what the word level trains on."""
        tokens = self.tokenize(text_or_tokens) if isinstance(text_or_tokens, str) else text_or_tokens
        get, unk = self._index.get, self.unk_id
        return np.fromiter((get(t, unk) for t in tokens), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        return detokenize(self.tokens[int(i)] for i in ids)

    def to_json(self) -> dict:
        return {"level": self.level, "tokens": list(self.tokens), "mode": self.mode, "eos": self.eos}

    @classmethod
    def from_json(cls, data: dict) -> WordVocab:
        try:
            level, tokens, mode, eos = data["level"], data["tokens"], data["mode"], data["eos"]
        except (KeyError, TypeError):
            raise RunError("word vocabulary JSON lacks 'level', 'tokens', 'mode' or 'eos': "
                           "the file is damaged or foreign") from None
        valid = (level == "word" and mode in MODES and isinstance(eos, bool) and isinstance(tokens, list)
                 and all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in tokens))
        if not valid:
            raise RunError("vocabulary JSON is not a valid word vocabulary: the file is damaged or foreign")
        return cls(tuple(tokens), mode, eos)


def build_word_vocab(chunks: Iterable[str], mode: str = "punct", eos: bool = False, min_count: int = 1,
                     max_vocab: int = 0, specials: Iterable[str] = (UNK,)) -> tuple[WordVocab, int]:
    """The vocabulary of all chunks, and the number of tokens read (like vocab.build_vocab)."""
    counts = count_words(chunks, mode, eos)
    return WordVocab.from_counts(counts, mode, eos, min_count, max_vocab, specials), sum(counts.values())


class WordDecoder(StreamDecoder):
    """Words as they come, spaced as `detokenize` spaces them."""

    def __init__(self, vocab, drop: Iterable[int] = ()):
        super().__init__(vocab, drop)
        self._words = Detokenizer()

    def piece(self, token_id: int) -> str:
        return self._words.add(self.vocab.tokens[token_id])


class WordLevel(Level):
    name = "word"
    token_name = "word"
    unit = "word"
    unknown_default = f"replace:{UNK}"  # words outside the vocabulary are scored as <unk> (PTB practice)
    replacement_hint = UNK
    restart_tokens = (EOS, ".")
    shows_example = True
    recipe = "word-medium"  # words learn best with the measured word recipe (README: Presets; docs/measured.md)
    novelty_n, novelty_unit = 5, "word"
    novelty_by_token = True
    sentence_position = True
    decoder_class = WordDecoder
    js_codec = JS_CODEC

    def token_spacing(self, vocab) -> list[list[bool]]:
        # What detokenize does between a token and a plain word on either side; the web page
        # handles <eos> and the straight quotes (which alternate) itself, as detokenize does.
        return [[detokenize(["a", t]) == "a" + t, detokenize([t, "a"]) == t + "a"] for t in vocab.tokens]

    def build(self, data_cfg, chunks: Iterable[str]):
        eos = data_cfg.eos and not data_cfg.lines
        return build_word_vocab(chunks, data_cfg.word_mode, eos, data_cfg.min_count, data_cfg.max_vocab,
                                (UNK, *self.specials(data_cfg)))

    def from_json(self, data: dict) -> WordVocab:
        return WordVocab.from_json(data)


LEVEL = WordLevel()
