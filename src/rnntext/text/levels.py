"""One face for every token level: building a vocabulary, encoding text, line mode.

char and byte levels use Vocab (code points / bytes), word uses WordVocab, bpe BpeVocab.
Line mode (`--lines`, the captions lab) makes every non-empty line one sample between a
start and an end token: for char and byte levels the control characters STX and ETX (single
symbols, so the vocabulary stays one symbol per token), for word and bpe `<s>` and `</s>`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rnntext.errors import RunError
from rnntext.text.vocab import Vocab, build_vocab

CHAR_START, CHAR_END = "\x02", "\x03"
WORD_START, WORD_END = "<s>", "</s>"


def line_tokens(level: str) -> tuple[str, str]:
    return (CHAR_START, CHAR_END) if level in ("char", "byte") else (WORD_START, WORD_END)


def as_lines(chunk: str, level: str) -> str:
    """Each non-empty line of `chunk` wrapped in start and end tokens (the line end dropped).
    Word and bpe lines each start with a space, so that text read in chunks (each a run of
    whole lines) wraps as it would whole: BPE makes that space a token, or joins it to "<"."""
    start, end = line_tokens(level)
    if level in ("char", "byte"):
        return "".join(f"{start}{line}{end}" for line in chunk.split("\n") if line.strip())
    return "".join(f" {start} {line} {end}" for line in chunk.split("\n") if line.strip())


def build(data_cfg, chunks: Iterable[str]):
    """The vocabulary of the (already line-wrapped) chunks and the number of tokens in them."""
    level = data_cfg.level
    specials = line_tokens(level) if data_cfg.lines else ()
    if level in ("char", "byte"):
        return build_vocab(level, chunks)
    if level == "word":
        from rnntext.text.words import UNK, build_word_vocab

        eos = data_cfg.eos and not data_cfg.lines
        return build_word_vocab(chunks, data_cfg.word_mode, eos, data_cfg.min_count, data_cfg.max_vocab,
                                (UNK, *specials))
    from rnntext.text.bpe import train_bpe

    chunks = list(chunks) if not isinstance(chunks, list) else chunks
    vocab = train_bpe(iter(chunks), data_cfg.vocab_size, specials)
    return vocab, sum(len(vocab.encode(c)) for c in chunks)


def encode(vocab, text: str) -> np.ndarray:
    """Ids of text: (N,) int64; -1 marks unknown symbols at char/byte level, <unk> at word level."""
    if vocab.level in ("char", "byte"):
        return vocab.lookup(vocab.codes(text))
    return vocab.encode(text)


def lookup_tokens(vocab, text: str) -> tuple[np.ndarray, list[str]]:
    """Ids of text with -1 for unknowns at every level, and the unknown symbols or words."""
    if vocab.level in ("char", "byte"):
        ids = vocab.lookup(vocab.codes(text))
        symbols = vocab.symbols(text)
        return ids, sorted({symbols[i] for i in np.flatnonzero(ids < 0)})
    tokens = vocab.tokenize(text)
    ids = vocab.lookup(tokens)
    return ids, list(dict.fromkeys(t for t, i in zip(tokens, ids) if i < 0))


def vocab_from_json(data: dict):
    """The vocabulary class that `data['level']` names."""
    level = data.get("level") if isinstance(data, dict) else None
    if level == "word":
        from rnntext.text.words import WordVocab

        return WordVocab.from_json(data)
    if level == "bpe":
        from rnntext.text.bpe import BpeVocab

        return BpeVocab.from_json(data)
    if level in ("char", "byte"):
        return Vocab.from_json(data)
    raise RunError(f"vocabulary JSON has unknown level {level!r}: the file is damaged or from a newer rnntext")
