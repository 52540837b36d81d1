"""Finding input files and reading them as normalised text, in bounded chunks.

Inputs are files, directories (searched recursively with a glob) or the name of a built-in
corpus. Text is read in chunks so that a corpus larger than memory can be prepared in two
passes (vocabulary, then encoding) with the same chunks both times.

Chunks are cut where no later step can tell the cut from the whole text, so the dataset is the
same for any chunk size and any line length: before a space, tab or line end that follows a
non-space character. Such a cut is never inside a UTF-8 sequence (the decoder is incremental),
a word, a \\r\\n pair or a combining sequence; NFC and lowercasing (whose only context rule,
Final_Sigma, looks across case-ignorable characters, never across a space) see the same
context; and it is a pre-token boundary of every tokenizer here (the word level's, and GPT-2's
byte-level BPE pattern, which attaches a space to the word after it). Memory is bounded by the
chunk size, whatever the line length. Two exceptions:

* A run of over LONG_RUN characters with no such cut (text without spaces, such as Chinese) is
  cut before a character where NFC, lowercasing and \\r\\n cannot tell the difference either;
  at the word and bpe levels a "word" that long is then split in two. (Text that offers no
  such place in 2 * LONG_RUN characters, such as only combining marks, is cut anyway.)
* Line mode (`--lines`) and `--condition-by tab` read whole lines, each line being one sample
  (or one label's text): a line of over LONG_RUN characters is refused with an InputError.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rnntext.errors import InputError
from rnntext.faces import ask
from rnntext.text import gutenberg

CHUNK_BYTES = 8 << 20  # bytes read at a time (tests shrink it: the dataset must not change)
LONG_RUN = 8 << 20  # characters held at most while looking for a cut (or, in line mode, a line end)
# Where a chunk may end: before a space, tab or line end that follows a non-space character.
# (Python's \S is narrower than Unicode's non-White_Space, so the character before the cut is
# never one that a tokenizer's \s, or Python's, would join to the space.)
_CUT = re.compile(r"(?<=\S)[ \t\n\r]")
# A superset of Unicode's Case_Ignorable (Mn, Me, Cf, Lm, Sk and the MidLetter, MidNumLet and
# Single_Quote word-break classes, which are all punctuation).
_CASE_IGNORABLE = frozenset(("Mn", "Me", "Cf", "Lm", "Sk", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"))


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
                raise InputError(f"directory {item} has no files matching {glob!r}{skipped}: use {ask('glob')} to choose others")
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


def _decode_chunks(source: Source, encoding: str, errors: str, whole: bool = True) -> Iterator[str]:
    """The text of `source` as decoded blocks; less Project Gutenberg's header and licence where
    it has them, unless `whole`."""
    if source.builtin:
        yield BUILTIN_CORPORA[source.name][1]()
        return
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}: use a Python codec name such as utf-8 or latin-1") from None
    body = None if whole else gutenberg.body(source.path, encoding)
    offset = body.start if body else 0
    try:
        with open(source.path, "rb") as f:
            f.seek(offset)
            while block := f.read(CHUNK_BYTES if body is None or body.end is None else
                                  min(CHUNK_BYTES, body.end - offset)):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as e:
                    pending = len(decoder.getstate()[0])
                    at = offset - pending + e.start
                    raise InputError(f"{source.name} is not valid {encoding} at byte {at}: "
                                     f"pass {ask('encoding')} with the right codec, or {ask('errors', 'replace')}") from None
                offset += len(block)
                yield text
            try:
                yield decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InputError(f"{source.name} ends inside a {encoding} character at byte {offset}: "
                                 f"the file is truncated; fix it or pass {ask('errors', 'replace')}") from None
    except OSError as e:
        raise InputError(f"cannot read {source.name}: {e.strerror}") from None


def iter_text(sources: list[Source], data_cfg, whole_lines: bool = False) -> Iterator[tuple[Source, str]]:
    """Yield (source, normalised chunk) pairs in a fixed order, stopping at max_chars.

    Normalisation order (documented in `rnntext prepare --help`): line ends to "\n" (always),
    NFC, lowercase, keep (drop characters outside the regex), max_chars. Each runs per chunk,
    which the cuts (see the module's description) make the same as running on the whole text;
    a --keep pattern that matches across whitespace sees only one chunk at a time. With
    `whole_lines` every chunk ends at a line end.
    """
    keep = _compile_keep(data_cfg.keep)
    remaining = data_cfg.max_chars or -1
    for source in sources:
        blocks = _decode_chunks(source, data_cfg.encoding, data_cfg.errors, data_cfg.keep_gutenberg)
        for chunk in _recut(blocks, source, data_cfg, whole_lines):
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


def _recut(blocks: Iterator[str], source: Source, data_cfg, whole_lines: bool) -> Iterator[str]:
    """The decoded blocks cut again where the text may be cut: at the last line end (whole_lines)
    or the last cut of _CUT in what has been read, else, past LONG_RUN characters, elsewhere."""
    carry, line = "", 1
    for block in blocks:
        text = carry + block
        cut = text.rfind("\n") + 1 if whole_lines else _last_cut(text)
        if cut == 0 and len(text) > LONG_RUN:
            if whole_lines:
                raise InputError(f"{source.name}: line {line} is longer than {LONG_RUN:,} characters: {ask('lines', True)} "
                                 f"and {ask('condition_by', 'tab')} read each line as one sample; break the text into "
                                 f"lines, or prepare it without those options")
            cut = _fallback_cut(text, data_cfg.nfc, data_cfg.lowercase)
            if not cut and len(text) > 2 * LONG_RUN:  # no such place in twice that (text made to have none)
                cut = len(text)
        if cut:
            line += text.count("\n", 0, cut) if whole_lines else 0
            carry = text[cut:]
            yield text[:cut]
        else:
            carry = text
    if carry:
        yield carry


def _last_cut(text: str) -> int:
    """The last position of _CUT in text (0: none), looking back from the end."""
    span = 1 << 12
    while True:
        lo = max(0, len(text) - span)
        cuts = [m.start() for m in _CUT.finditer(text, lo)]
        if cuts or lo == 0:
            return cuts[-1] if cuts else 0
        span *= 8


def _fallback_cut(text: str, nfc: bool, lowercase: bool) -> int:
    """The last position (0: none) in a run without whitespace where neither the \\r\\n rule, nor
    NFC (when on), nor lowercasing (when on) can tell a cut there from the whole text."""
    for i in range(len(text) - 1, 0, -1):
        if text[i - 1] != "\r" and (not nfc or _nfc_safe(text, i)) and (not lowercase or _sigma_safe(text, i)):
            return i
    return 0


def _nfc_safe(text: str, i: int) -> bool:
    """NFC cannot join text[i] to what comes before: it starts with a starter (combining class 0,
    so no reordering crosses the cut) that composes with nothing before it (Hangul L V | T
    composes over three characters, hence the window)."""
    if unicodedata.combining(unicodedata.normalize("NFD", text[i])[0]):
        return False
    before, after = text[max(0, i - 4):i], text[i:i + 4]
    return _nfc(before) + _nfc(after) == _nfc(before + after)


_nfc = functools.partial(unicodedata.normalize, "NFC")


def _sigma_safe(text: str, i: int) -> bool:
    """str.lower's one context rule (Final_Sigma) makes a Σ look across case-ignorable
    characters to the first other one on either side: the cut must not lie in such a view.
    A view that reaches the end of what has been read counts as unsafe."""
    for step, j in ((-1, i - 1), (1, i)):
        while 0 <= j < len(text) and unicodedata.category(text[j]) in _CASE_IGNORABLE:
            j += step
        if not 0 <= j < len(text) or text[j] == "\u03a3":
            return False
    return True


def _compile_keep(pattern: str):
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise InputError(f"{ask('keep', pattern)} is not a valid regular expression: {e}") from None


def read_all(inputs, data_cfg) -> str:
    """The whole normalised text of `inputs` (for small inputs: eval files, primes)."""
    sources = resolve_sources(inputs, data_cfg.glob, data_cfg.encoding)
    gutenberg.tell(sources, data_cfg)
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
        raise InputError(f"{path} looks like {wide} text ({why} and a {wide} byte-order mark): pass {ask('encoding', wide)}")
    raise InputError(f"{path} is not text ({why} in its first {BINARY_SAMPLE:,} bytes): give text files "
                     f"(for a folder, {ask('glob')} chooses which files are read)")


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
