"""What every token level has, and the defaults the levels share.

A level (char, byte, word, bpe) is one module in this package holding one `Level` instance
named LEVEL: how its vocabulary is built and read back, how text is encoded, how line mode
wraps lines, how generated ids become text as they arrive (a StreamDecoder), how its loss is
reported, and the smaller choices that differ by level. Callers reach it through the
registry (`rnntext.text.levels.get(name)`) and never test a level's name.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterable

import numpy as np


class TokenIndex:
    """Size, membership and token -> id over `tokens` and `_index`: every vocabulary has them."""

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def id(self, token: str) -> int:
        return self._index[token]


class StreamDecoder:
    """Text of ids as they arrive: `feed(ids)` returns the text they complete, `flush()` what is
    still held back. Negative ids (a stream that has stopped) and the ids in `drop` (line-mode
    start and end tokens) are skipped. Everything fed, then flushed, is vocab.decode of the kept
    ids. This base suits levels whose tokens stand for whole characters."""

    def __init__(self, vocab, drop: Iterable[int] = ()):
        self.vocab, self.drop = vocab, frozenset(int(i) for i in drop)

    def feed(self, ids: Iterable[int]) -> str:
        return "".join(self.piece(i) for i in map(int, np.ravel(ids)) if i >= 0 and i not in self.drop)

    def piece(self, token_id: int) -> str:
        """The text one kept id adds."""
        return self.vocab.tokens[token_id]

    def flush(self) -> str:
        return ""


class BytesDecoder(StreamDecoder):
    """For levels whose tokens stand for bytes: they go through an incremental UTF-8 decoder, so a
    character split across tokens shows once its last byte arrives."""

    def __init__(self, vocab, drop: Iterable[int] = ()):
        super().__init__(vocab, drop)
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")

    def token_bytes(self, token: str) -> bytes:
        raise NotImplementedError

    def piece(self, token_id: int) -> str:
        return self._utf8.decode(self.token_bytes(self.vocab.tokens[token_id]))

    def flush(self) -> str:
        return self._utf8.decode(b"", final=True)


class Level:
    """A token level; the attributes are the defaults the subclasses override."""

    name = ""
    line_start, line_end = "<s>", "</s>"  # line mode: every sample runs from start to end
    line_joiner = " "  # between a line's tokens and its start and end tokens
    token_name = "token"  # what one token is called: "bits per character", "read 1,000 words"
    unit = "symbol"  # what an unknown piece of input is called in messages
    unknown_default = "skip"  # what evaluation does with unknowns (rnntext.trained.Model.encode)
    replacement_hint = "C"  # the example in `--unknown replace:...`
    restart_tokens: tuple[str, ...] = (".",)  # sampling without a prime starts after the first one known
    shows_example = False  # the trainer shows a context / true / predicted next token line
    recipe: str | None = None  # the preset this level's runs start from (rnntext.config.resolve)
    novelty_n, novelty_unit = 20, "char"  # n-grams rnntext.judge compares: n characters, or n words
    novelty_by_token = False  # novelty compares token ids (whitespace-separated words), not characters
    sentence_position = False  # rnntext.inspection also looks for units that count tokens since a sentence's end
    decoder_class = StreamDecoder
    # The level's encoder and decoder in JavaScript, for the page `rnntext export web` writes: an
    # expression giving {encode(vocab, text) -> {ids, unknown}, decode(vocab, ids) -> text}, with
    # vocab the stored JSON (to_json) plus `spacing` (token_spacing). It may use the page's
    # helpers RnnText.text.{utf8, byName, lookup} (rnntext/interop/web/levels.js). Empty: the
    # page refuses the level, as it refuses a cell without its `js_step`.
    js_codec = ""

    def build(self, data_cfg, chunks: Iterable[str]):
        """The vocabulary of the (already line-wrapped) chunks and the number of tokens in them."""
        raise NotImplementedError

    def from_json(self, data: dict):
        """The vocabulary a dataset or model.json stores (RunError when damaged)."""
        raise NotImplementedError

    def extend(self, vocab, data_cfg, chunks: Iterable[str]):
        """Fine-tuning: `vocab` extended by the chunks' new tokens, and the number of tokens in
        the chunks. The new tokens are those this level's own vocabulary of the chunks holds
        (after min_count and max_vocab), appended in its order; the known ones keep their ids."""
        own, total = self.build(data_cfg, chunks)
        return self.extended(vocab, own.tokens), total

    def extended(self, vocab, tokens: Iterable[str]):
        """`vocab` with the `tokens` it lacks appended, in order."""
        new = [t for t in dict.fromkeys(tokens) if t not in vocab]
        return self.from_json({**vocab.to_json(), "tokens": [*vocab.tokens, *new]}) if new else vocab

    def specials(self, data_cfg) -> tuple[str, ...]:
        """The special tokens line mode adds to the vocabulary."""
        return (self.line_start, self.line_end) if data_cfg.lines else ()

    def as_lines(self, chunk: str) -> str:
        """Each non-empty line of `chunk` wrapped in start and end tokens (the line end dropped).
        Each line starts with the joiner (a space for words and subwords), so that text read in
        chunks (each a run of whole lines) wraps as it would whole."""
        j = self.line_joiner
        return "".join(f"{j}{self.line_start}{j}{line}{j}{self.line_end}" for line in chunk.split("\n") if line.strip())

    def line_ids(self, vocab) -> tuple[int, int]:
        return vocab.id(self.line_start), vocab.id(self.line_end)

    def encode(self, vocab, text: str) -> np.ndarray:
        """Ids of text: (N,) int64, one chunk at a time (no state carries between chunks)."""
        return vocab.encode(text)

    def lookup_tokens(self, vocab, text: str) -> tuple[np.ndarray, list[str]]:
        """Ids of text with -1 for unknowns, and the unknown tokens in order of appearance."""
        tokens = vocab.tokenize(text)
        ids = vocab.lookup(tokens)
        return ids, list(dict.fromkeys(t for t, i in zip(tokens, ids) if i < 0))

    def join_unknown(self, missing: list[str]) -> str:
        """Unknown tokens as a message shows them."""
        return " ".join(missing)

    def metrics(self, loss: float) -> dict:
        """Loss in nats per token, and the level's usual measure of it (perplexity here)."""
        return {"loss": loss, "perplexity": math.exp(min(loss, 700))}

    def decoder(self, vocab, drop: Iterable[int] = ()) -> StreamDecoder:
        """A StreamDecoder for ids of `vocab`; `drop` names ids never shown."""
        return self.decoder_class(vocab, drop)

    def token_spacing(self, vocab) -> list[list[bool]] | None:
        """Per token, whether decoding joins it to its left and right neighbour without a space
        (the exported web page spaces tokens with it); None where tokens carry their own spacing."""
        return None

    def show_prime(self, decoder: StreamDecoder, prime: str, ids) -> str:
        """The prime as a streaming display shows it before the continuation: decoded from its
        ids, since the spacing of words and subwords depends on their neighbours."""
        return decoder.feed(ids)

    def __repr__(self) -> str:
        return f"<level {self.name}>"
