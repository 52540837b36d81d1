"""Project Gutenberg's own text around a book, found so that reading leaves it out.

A Project Gutenberg file wraps its book: a header that ends with a "*** START OF THE PROJECT
GUTENBERG EBOOK ..." line (older files: "*END*THE SMALL PRINT! ..."), and after the book the
licence, from an "*** END OF ..." or "End of (the) Project Gutenberg('s) ..." line on: about
19,000 characters that would otherwise be most of a book's validation split. Both lines are
searched for as bytes (ASCII) in the first and last SCAN bytes of a file; a file with neither is
read whole. rnntext.text.read reads only the `body`; `tell` says what was left out.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from rnntext.faces import Said, ask

log = logging.getLogger(__name__)

START = re.compile(rb"^[ \t]*(?:\*{3}[ \t]*START OF (?:THE |THIS )?PROJECT GUTENBERG\b|\*END\*THE SMALL PRINT!)[^\n]*\n",
                   re.I | re.M)
END = re.compile(rb"^[ \t]*(?:\*{3}[ \t]*)?END OF (?:THE |THIS )?PROJECT GUTENBERG\b", re.I | re.M)
SCAN = 1 << 18


@dataclass(frozen=True)
class Body:
    """Where the book is in a Project Gutenberg file, in bytes, and the characters left out."""

    start: int  # just after the START line (0 without one)
    end: int | None  # where the END line starts (None without one: to the end of the file)
    header: int  # characters before `start`
    licence: int  # characters from `end` on


def body(path: Path, encoding: str = "utf-8") -> Body | None:
    """The book inside a Project Gutenberg file: after its START line, before its END line (the
    first after the start); either may be missing. None for a file with neither: it is read whole."""
    try:
        if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):  # not ASCII-compatible
            return None
    except LookupError:  # reading the file says so
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(SCAN)
            tail_at = max(0, f.seek(0, 2) - SCAN)
            f.seek(tail_at)
            tail = f.read()
    except OSError:  # reading the file says so
        return None
    opening = START.search(head)
    start = opening.end() if opening else 0
    end = next((tail_at + m.start() for m in END.finditer(tail) if tail_at + m.start() >= start), None)
    if opening is None and end is None:
        return None
    licence = tail[end - tail_at:] if end is not None else b""
    return Body(start, end, len(head[:start].decode(encoding, "replace")), len(licence.decode(encoding, "replace")))


def tell(sources, data_cfg) -> None:
    """Say in one line per file what was left out of Project Gutenberg files, with the counts."""
    if data_cfg.keep_gutenberg:
        return
    for source in sources:
        found = None if source.builtin else body(source.path, data_cfg.encoding)
        if found is not None:
            parts = [f"{what} ({n:,} characters)" for what, n in (("header", found.header), ("licence", found.licence))
                     if n]
            log.warning(Said(f"{source.name}: left out Project Gutenberg's {' and '.join(parts) or 'markers'}; "
                             f"{ask('keep_gutenberg', True)} keeps them"))
