"""Reading, normalising and tokenizing text (NumPy and the standard library only)."""

from rnntext.text.read import BUILTIN_CORPORA, iter_text, resolve_sources
from rnntext.text.vocab import Vocab, build_vocab

__all__ = ["BUILTIN_CORPORA", "Vocab", "build_vocab", "iter_text", "resolve_sources"]
