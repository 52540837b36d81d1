"""metrics.jsonl, read back: one JSON object a line, appended whole (data.atomic.append_line).

The one reader of the file, for resume and plot alike. A line a crash or a full disk tore
(no newline, or cut inside a UTF-8 sequence), bytes that are not text, a line that is not a
JSON object: each is skipped, never an error, since the lines around it are still good.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rnntext.data.atomic import write_text

log = logging.getLogger(__name__)


def read_lines(path: str | Path) -> tuple[list[tuple[str, dict]], int]:
    """(line, record) for every readable line of `path`, and how many non-blank lines were
    skipped as damaged; ([], 0) when there is no such file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    good, damaged = [], 0
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "\ufffd" not in line:
            good.append((line, record))
        else:
            damaged += bool(line.strip())
    return good, damaged


def truncate(path: Path, iteration: int) -> None:
    """Drop the lines written after the checkpoint a run resumes from (iteration), and any torn
    or damaged line, so that the resumed run's lines follow on as an uninterrupted run's do."""
    if not path.is_file():
        return
    lines, damaged = read_lines(path)
    kept = [line for line, record in lines if _at_or_before(record, iteration)]
    dropped = damaged + len(lines) - len(kept)
    if dropped:
        log.info("dropped %d metrics lines of %s after iteration %d or damaged", dropped, path, iteration)
    write_text(path, "".join(line + "\n" for line in kept))


def _at_or_before(record: dict, iteration: int) -> bool:
    step = record.get("iter", 0)
    return isinstance(step, int) and not isinstance(step, bool) and 0 <= step <= iteration
