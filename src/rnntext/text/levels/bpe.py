"""Subword level: a byte-level byte-pair vocabulary trained on the corpus (optional).

Byte-level BPE (GPT-2's scheme, Radford et al. 2019) starts from all 256 bytes, so every
text encodes and decodes exactly and there is no unknown token: the word level's `<unk>`
problem goes away. The `tokenizers` package (HuggingFace) does the work; it is an optional
dependency, imported inside the functions that need it. Training reads the corpus only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rnntext.errors import ConfigError, RunError
from rnntext.extras import missing
from rnntext.faces import ask
from rnntext.text.levels.base import BytesDecoder, Level, TokenIndex


def _tokenizers(error: type[Exception]):
    try:
        import tokenizers
    except ImportError:
        raise error(missing("bpe", "the bpe level").message) from None
    return tokenizers


def train_bpe(chunks: Iterable[str], vocab_size: int, specials: Iterable[str] = ()) -> BpeVocab:
    """A byte-level BPE vocabulary of at most `vocab_size` tokens (256 bytes + specials + merges)
    learned from the text chunks. A small corpus may stop short of `vocab_size`."""
    tk = _tokenizers(ConfigError)
    specials = list(dict.fromkeys(specials))
    alphabet = tk.pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + len(specials):
        raise ConfigError(f"{ask('vocab_size', vocab_size)} is too small for byte-level BPE: "
                          f"use at least {len(alphabet) + len(specials)} (256 bytes plus special tokens)")
    tokenizer = tk.Tokenizer(tk.models.BPE())
    # No prefix space: a leading space would be added on encode and break the exact round trip.
    tokenizer.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=alphabet,
                                     special_tokens=specials, show_progress=False)
    tokenizer.train_from_iterator(chunks, trainer)
    return BpeVocab(tokenizer.to_str())


@dataclass(frozen=True)
class BpeVocab(TokenIndex):
    """Byte-level BPE tokens <-> ids, with the interface of Vocab and WordVocab.
    Tokens are spelled as the tokenizer spells them (a space is "Ġ", a newline "Ċ")."""

    tokenizer_json: str = field(repr=False)
    level: str = field(default="bpe", init=False)
    tokens: tuple[str, ...] = field(init=False, compare=False)
    _tokenizer: object = field(init=False, repr=False, compare=False)
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        tk = _tokenizers(RunError)
        try:
            tokenizer = tk.Tokenizer.from_str(self.tokenizer_json)
        except Exception:  # the Rust side raises plain Exception on any malformed JSON
            raise RunError("BPE tokenizer JSON cannot be read: the file is damaged or foreign") from None
        index = tokenizer.get_vocab(with_added_tokens=True)
        tokens = tuple(sorted(index, key=index.get))
        if [index[t] for t in tokens] != list(range(len(tokens))):
            raise RunError("BPE vocabulary ids are not 0..N-1: the file is damaged or foreign")
        object.__setattr__(self, "_tokenizer", tokenizer)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "tokens", tokens)

    @property
    def unk_id(self) -> None:
        return None  # byte-level: every text encodes, nothing is unknown

    def tokenize(self, text: str) -> list[str]:
        return self._tokenizer.encode(text).tokens

    def lookup(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids of tokens (in the tokenizer's spelling), -1 where unknown: (N,) int64."""
        get = self._index.get
        return np.fromiter((get(t, -1) for t in tokens), dtype=np.int64)

    def encode(self, text_or_tokens: str | Iterable[str]) -> np.ndarray:
        """Ids of a text, or of tokens in the tokenizer's spelling: (N,) int64."""
        if not isinstance(text_or_tokens, str):
            return np.array([self._index[t] for t in text_or_tokens], dtype=np.int64)
        return np.array(self._tokenizer.encode(text_or_tokens).ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        # Special tokens (<s>, </s>) stay in the text, as WordVocab.decode keeps them.
        return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    def to_json(self) -> dict:
        # `tokens` duplicates the tokenizer's vocabulary so that generic readers can count and
        # show tokens without the optional package; from_json checks that the two agree.
        return {"level": self.level, "tokens": list(self.tokens), "tokenizer": self.tokenizer_json}

    @classmethod
    def from_json(cls, data: dict) -> BpeVocab:
        try:
            level, tokens, tokenizer_json = data["level"], data["tokens"], data["tokenizer"]
        except (KeyError, TypeError):
            raise RunError("BPE vocabulary JSON lacks 'level', 'tokens' or 'tokenizer': "
                           "the file is damaged or foreign") from None
        if level != "bpe" or not isinstance(tokenizer_json, str):
            raise RunError("vocabulary JSON is not a valid bpe vocabulary: the file is damaged or foreign")
        vocab = cls(tokenizer_json)
        if tokens != list(vocab.tokens):
            raise RunError("BPE vocabulary tokens disagree with its tokenizer: the file is damaged")
        return vocab


def _byte_chars() -> dict[str, int]:
    """The byte-level alphabet (GPT-2's bytes_to_unicode): the character that spells each byte.
    Printable Latin-1 bytes spell themselves; the others are shifted to U+0100 and up."""
    own = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in own]
    return {chr(b): b for b in own} | {chr(256 + k): b for k, b in enumerate(shifted)}


BYTE_OF_CHAR = _byte_chars()
NEWLINE = next(c for c, b in BYTE_OF_CHAR.items() if b == ord("\n"))  # "Ċ"


def token_bytes(token: str) -> bytes:
    """The bytes a token stands for, as the tokenizer's ByteLevel decoder reads it: a special
    token spelled outside the alphabet stands for its own UTF-8 bytes."""
    try:
        return bytes(BYTE_OF_CHAR[c] for c in token)
    except KeyError:
        return token.encode("utf-8")

# The bpe level's encoder and decoder in JavaScript (Level.js_codec): byte-level BPE as the
# tokenizers package runs it (added tokens first, GPT-2's pre-tokenizing pattern, merges by
# rank), decoding the bytes back to UTF-8 (U+FFFD for undecodable ones, as errors="replace").
JS_CODEC = r"""(() => {
  function byteAlphabet() {  // GPT-2's bytes_to_unicode: byte -> the character the BPE tokens spell it with
    const direct = [];
    for (let b = 33; b <= 126; b++) direct.push(b);
    for (let b = 161; b <= 172; b++) direct.push(b);
    for (let b = 174; b <= 255; b++) direct.push(b);
    const chars = new Array(256);
    let n = 0;
    for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(direct.includes(b) ? b : 256 + n++);
    return chars;
  }

  function setup(vocab) {
    if (vocab.bpe) return vocab.bpe;
    const tk = JSON.parse(vocab.tokenizer), chars = byteAlphabet();
    const ranks = new Map(tk.model.merges.map((m, r) => [(Array.isArray(m) ? m : m.split(" ")).join(" "), r]));
    const specials = tk.added_tokens.map((t) => t.content).sort((a, b) => b.length - a.length);
    const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return (vocab.bpe = {
      chars, ranks, byteOf: new Map(chars.map((c, b) => [c, b])),
      special: specials.length ? new RegExp(`(${specials.map(escape).join("|")})`) : null,
      pieces: /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu,
    });
  }

  function merge(bpe, piece) {  // merge the lowest-ranked pair (leftmost on ties) until none is left
    const parts = Array.from(piece);
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = bpe.ranks.get(parts[i] + " " + parts[i + 1]);
        if (rank !== undefined && rank < bestRank) { best = i; bestRank = rank; }
      }
      if (best < 0) return parts;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
  }

  function tokens(vocab, text) {
    const bpe = setup(vocab), out = [];
    const chunks = bpe.special ? text.split(bpe.special) : [text];
    chunks.forEach((chunk, i) => {
      if (i % 2 === 1) { out.push(chunk); return; }  // a special token, as it is
      for (const piece of chunk.match(bpe.pieces) || []) {
        const spelled = Array.from(new TextEncoder().encode(piece), (b) => bpe.chars[b]).join("");
        out.push(...merge(bpe, spelled));
      }
    });
    return out;
  }

  return {
    encode: (v, text) => RnnText.text.lookup(v, tokens(v, text)),
    decode(v, ids) {
      const bpe = setup(v), bytes = [];
      for (const i of ids) for (const c of v.tokens[i]) bytes.push(...(bpe.byteOf.has(c) ? [bpe.byteOf.get(c)] : new TextEncoder().encode(c)));
      return RnnText.text.utf8(bytes);
    },
  };
})()"""


class BpeDecoder(BytesDecoder):
    def token_bytes(self, token: str) -> bytes:
        return token_bytes(token)


class BpeLevel(Level):
    name = "bpe"
    restart_tokens = (NEWLINE, ".")
    shows_example = True
    decoder_class = BpeDecoder
    js_codec = JS_CODEC

    def build(self, data_cfg, chunks: Iterable[str]):
        chunks = chunks if isinstance(chunks, list) else list(chunks)  # read twice: training, then counting
        vocab = train_bpe(iter(chunks), data_cfg.vocab_size, self.specials(data_cfg))
        return vocab, sum(len(vocab.encode(c)) for c in chunks)

    def from_json(self, data: dict) -> BpeVocab:
        return BpeVocab.from_json(data)

    def extend(self, vocab, data_cfg, chunks: Iterable[str]):
        """Merges cannot be added to a trained BPE without changing how known text splits, so the
        new text is encoded with `vocab` as it is: byte-level BPE encodes any text, nothing is
        unknown, and rare words of the new text come out as several known subwords."""
        return vocab, sum(len(vocab.encode(c)) for c in chunks)

    def extended(self, vocab, tokens: Iterable[str]):
        missing = [t for t in tokens if t not in vocab]
        if missing:
            raise ConfigError(f"a bpe vocabulary cannot take new tokens ({len(missing)}, e.g. {missing[0]!r}): "
                              f"give the text instead of a dataset prepared with another tokenizer")
        return vocab


LEVEL = BpeLevel()
