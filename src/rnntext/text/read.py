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


def resolve_sources(inputs: list[str] | tuple[str, ...], glob: str = "*.txt", encoding: str = "utf-8") -> list[Source]:
    """Files, directories (recursive glob; binary files skipped, see list_directory) and built-in
    corpus names -> an ordered list of sources. A file named that is not text is refused."""
    if not inputs:
        raise InputError("no input given: name a text file, a directory or a built-in corpus (python-docs)")
    sources: list[Source] = []
    for item in inputs:
        item = str(item)
        path = Path(item)
        if path.is_dir():
            listing = list_directory(path, glob, encoding)
            found, binary = listing.read, len(listing.skipped.get("binary", ()))
            if not found:
                skipped = f" that are text ({binary} binary skipped)" if binary else ""
                raise InputError(f"directory {item} has no files matching {glob!r}{skipped}: use --glob to choose others")
            sources += [Source(str(p), p) for p in found]
        elif path.is_file():
            refuse_binary(path, encoding)
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
    sources = resolve_sources(inputs, data_cfg.glob, data_cfg.encoding)
    return "".join(chunk for _, chunk in iter_text(sources, data_cfg))


# -- telling text from binary, and what a directory input held --------------------------------

BINARY_SAMPLE = 1024  # bytes read from the start of a file to tell text from binary
CONTROL_SHARE = 0.1  # more control characters than this share of them: binary (text has tabs and line ends)
TEXT_CONTROLS = frozenset(b"\t\n\v\f\r\x1b")  # control bytes text holds: tabs, line ends, form feed, escape
WIDE_BOMS = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}  # byte-order marks of encodings with NUL bytes


def binary_reason(path: Path, encoding: str = "utf-8") -> str | None:
    """Why the file is not text in `encoding` (NUL bytes, or many control characters, in its first
    BINARY_SAMPLE bytes), or None. Encodings whose text has NUL bytes (UTF-16, UTF-32) pass."""
    try:
        if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
            return None
    except LookupError:  # an unknown encoding: reading the file says so
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(BINARY_SAMPLE)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    if b"\0" in head:
        return "NUL bytes"
    control = sum(1 for b in head if (b < 32 or b == 127) and b not in TEXT_CONTROLS)
    if head and control / len(head) > CONTROL_SHARE:
        return f"{control / len(head):.0%} control characters"
    return None


def refuse_binary(path: Path, encoding: str = "utf-8") -> None:
    """An InputError with a hint that fits when the file named is not text."""
    why = binary_reason(path, encoding)
    if why is None:
        return
    with open(path, "rb") as f:
        wide = WIDE_BOMS.get(f.read(2))
    if wide:
        raise InputError(f"{path} looks like {wide} text ({why} and a {wide} byte-order mark): pass --encoding {wide}")
    raise InputError(f"{path} is not text ({why} in its first {BINARY_SAMPLE:,} bytes): give text files "
                     f"(for a folder, --glob chooses which files are read)")


@dataclass(frozen=True)
class Listing:
    """A directory input: the text files that are read, and the files skipped, by why."""

    directory: Path
    read: list[Path]
    skipped: dict[str, list[Path]]


def list_directory(path: Path, glob: str = "*.txt", encoding: str = "utf-8") -> Listing:
    """The files under `path` (recursively) that match `glob` and are text, in name order; the
    others by why they were skipped: not matching the pattern, or binary."""
    read, skipped = [], {}
    matching = set(path.rglob(glob))
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        if p not in matching:
            skipped.setdefault(f"not matching --glob {glob!r}", []).append(p)
        elif binary_reason(p, encoding):
            skipped.setdefault("binary", []).append(p)
        else:
            read.append(p)
    return Listing(path, read, skipped)


def list_inputs(inputs, glob: str = "*.txt", encoding: str = "utf-8") -> list[Listing]:
    """A Listing for each directory among `inputs` (what `rnntext prepare` reports)."""
    return [list_directory(Path(str(i)), glob, encoding) for i in inputs if Path(str(i)).is_dir()]
