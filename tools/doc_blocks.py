"""The code blocks of the pages a user reads (README.md and docs/*.md), by page and section.

Every block names its language, and a test checks every block (tests/test_docs.py fails on one
that none checks): a `python` block is run by the test that asks for its section here; an `sh`
block's `rnntext` commands run in-process on a small text, its `curl` asks the server that the
block started, and its other programs are run by the test tests/test_docs.py names; a `text`
block (what rnntext prints) is compared with what the command beside it prints, numbers aside;
the `mermaid` block is the package map (tests/test_house.py).

    python tools/doc_blocks.py    # every block: page, line, section, language
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\S*)\n(.*?)^```\n", re.S | re.M)
HEADING = re.compile(r"^(#+) (.+)$", re.M)


def pages() -> list[str]:
    """The user's pages, as paths from the repository's root: the README first."""
    return ["README.md"] + sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # where its opening fence is, counted from 1
    section: str  # the heading it stands under
    language: str
    code: str


def blocks(page: str) -> list[Block]:
    text = (ROOT / page).read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        found.append(Block(page, line, section_of(text, m.start()), m[1], m[2]))
    return found


def section_of(text: str, at: int) -> str:
    """The heading above position `at` (outside code blocks)."""
    headings = [m for m in HEADING.finditer(text) if m.start() < at and not inside_code(text, m.start())]
    return headings[-1][2] if headings else ""


def inside_code(text: str, at: int) -> bool:
    return any(m.start() < at < m.end() for m in FENCE.finditer(text))


def section(page: str, heading: str) -> str:
    """The text of a section: from its heading to the next heading of the same or a higher level."""
    text = (ROOT / page).read_text(encoding="utf-8")
    starts = [m for m in HEADING.finditer(text) if not inside_code(text, m.start())]
    mine = next((m for m in starts if m[2] == heading), None)
    if mine is None:
        raise KeyError(f"{page} has no section {heading!r}")
    after = [m for m in starts if m.start() > mine.start() and len(m[1]) <= len(mine[1])]
    return text[mine.start():after[0].start() if after else len(text)]


def code(page: str, heading: str, language: str = "python") -> list[str]:
    """The blocks of one language in a section, in order."""
    return [b.code for b in blocks(page) if b.section == heading and b.language == language]


def commands(code_text: str) -> list[list[str]]:
    """The commands of an sh block as words: continued lines joined, comments and blank lines
    left out."""
    joined = code_text.replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def main() -> int:
    for page in pages():
        for b in blocks(page):
            print(f"{b.page}:{b.line}  [{b.language or '?'}]  {b.section}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
