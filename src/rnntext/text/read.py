"""Finding input files and reading them as normalised text, in bounded chunks.

Inputs are files, directories (searched recursively with a glob) or the name of a built-in
corpus. Text is read in chunks so that a corpus larger than memory can be prepared in two
passes (vocabulary, then encoding) with the same chunks both times.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rnntext.errors import InputError

CHUNK_BYTES = 8 << 20


def _python_docs() -> str:
    from pydoc_data.topics import topics  # the documentation every CPython ships

    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


# name -> (description, loader); the project ships no third-party text.
BUILTIN_CORPORA = {
    "python-docs": ("the Python documentation shipped with CPython (pydoc_data.topics), about 465 KB of English prose",
                    _python_docs),
}


@dataclass(frozen=True)
class Source:
    """One input: a file on disk or a built-in corpus."""

    name: str
    path: Path | None = None

    @property
    def builtin(self) -> bool:
        return self.path is None


def resolve_sources(inputs: list[str] | tuple[str, ...], glob: str = "*.txt") -> list[Source]:
    """Files, directories (recursive glob) and built-in corpus names -> an ordered list of sources."""
    if not inputs:
        raise InputError("no input given: name a text file, a directory or a built-in corpus (python-docs)")
    sources: list[Source] = []
    for item in inputs:
        item = str(item)
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob(glob) if p.is_file())
            if not found:
                raise InputError(f"directory {item} has no files matching {glob!r}: use --glob to choose others")
            sources += [Source(str(p), p) for p in found]
        elif path.is_file():
            sources.append(Source(item, path))
        elif item in BUILTIN_CORPORA and not path.exists():
            sources.append(Source(item))
        else:
            names = ", ".join(BUILTIN_CORPORA)
            raise InputError(f"input {item} does not exist: give a text file, a directory or a built-in corpus ({names})")
    return sources


def _decode_chunks(source: Source, encoding: str, errors: str) -> Iterator[str]:
    if source.builtin:
        yield BUILTIN_CORPORA[source.name][1]()
        return
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}: use a Python codec name such as utf-8 or latin-1") from None
    offset = 0
    try:
        with open(source.path, "rb") as f:
            while block := f.read(CHUNK_BYTES):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as e:
                    pending = len(decoder.getstate()[0])
                    at = offset - pending + e.start
                    raise InputError(f"{source.name} is not valid {encoding} at byte {at}: "
                                     f"pass --encoding with the right codec, or --errors replace") from None
                offset += len(block)
                yield text
            try:
                yield decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InputError(f"{source.name} ends inside a {encoding} character at byte {offset}: "
                                 f"the file is truncated; fix it or pass --errors replace") from None
    except OSError as e:
        raise InputError(f"cannot read {source.name}: {e.strerror}") from None


def iter_text(sources: list[Source], data_cfg) -> Iterator[tuple[Source, str]]:
    """Yield (source, normalised chunk) pairs in a fixed order, stopping at max_chars.

    Normalisation order (documented in `rnntext prepare --help`): line ends to "\n" (always),
    NFC, lowercase, keep (drop characters outside the regex), max_chars. NFC runs per chunk:
    chunks are cut at line ends so that no combining sequence is split.
    """
    keep = _compile_keep(data_cfg.keep)
    remaining = data_cfg.max_chars or -1
    for source in sources:
        for chunk in _line_aligned(_decode_chunks(source, data_cfg.encoding, data_cfg.errors)):
            chunk = chunk.replace("\r\n", "\n")  # Windows line ends: one symbol, not two
            if data_cfg.nfc:
                chunk = unicodedata.normalize("NFC", chunk)
            if data_cfg.lowercase:
                chunk = chunk.lower()
            if keep is not None:
                chunk = "".join(keep.findall(chunk))
            if remaining >= 0:
                chunk = chunk[:remaining]
                remaining -= len(chunk)
            if chunk:
                yield source, chunk
            if remaining == 0:
                return


def _line_aligned(chunks: Iterator[str]) -> Iterator[str]:
    carry = ""
    for chunk in chunks:
        chunk = carry + chunk
        cut = chunk.rfind("\n") + 1
        if cut == 0 and len(chunk) < CHUNK_BYTES * 4:
            carry = chunk
            continue
        cut = cut or len(chunk)
        carry = chunk[cut:]
        yield chunk[:cut]
    if carry:
        yield carry


def _compile_keep(pattern: str):
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise InputError(f"--keep {pattern!r} is not a valid regular expression: {e}") from None


def read_all(inputs, data_cfg) -> str:
    """The whole normalised text of `inputs` (for small inputs: eval files, primes)."""
    return "".join(chunk for _, chunk in iter_text(resolve_sources(inputs, data_cfg.glob), data_cfg))
