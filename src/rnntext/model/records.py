"""config.toml (the resolved configuration) and metrics.jsonl (one JSON line per logged step
and per validation).

Metrics lines are appended whole or not at all; a reader skips a torn or damaged line (a crash
or a full disk mid-append) and keeps the rest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from rnntext import config as config_mod
from rnntext.config import Config
from rnntext.data.atomic import append_line, write_text
from rnntext.errors import ConfigError
from rnntext.model.claim import read_manifest
from rnntext.model.layout import CONFIG, METRICS
from rnntext.sampling import SampleConfig

log = logging.getLogger(__name__)


def write_config(run: Path, cfg: Config) -> None:
    write_text(Path(run) / CONFIG, config_mod.to_toml(cfg))


def recorded_config(run: Path, state: dict | None = None) -> dict:
    """The configuration a run recorded, as {section: {key: value}}: the one in its checkpoint's
    JSON (`state`), else in its record (.rnntext-run), else its config.toml; {} without any."""
    run = Path(run)
    recorded = (state or {}).get("config") or ((read_manifest(run) or {}).get("config") if run.is_dir() else None)
    if recorded:
        return recorded
    return config_mod.read_toml(run / CONFIG) if (run / CONFIG).is_file() else {}


def sample_defaults(run: Path) -> dict:
    """The [sample] section of the run's config.toml (a preset's choices): {} without one, and
    {} with a warning when it is not valid."""
    path = Path(run) / CONFIG
    if not path.is_file():
        return {}
    try:
        sample = config_mod.read_toml(path).get("sample", {})
        SampleConfig.of(sample)
    except ConfigError:
        log.warning("ignoring the [sample] section of %s: it is not valid", path)
        return {}
    return sample


def append_metrics(run: Path, record: dict) -> None:
    append_line(Path(run) / METRICS, json.dumps(record) + "\n")  # a whole line or none


def _lines(path: Path) -> Iterator[tuple[str, dict | None]]:
    """Each line of a metrics file with its record. None marks a line a crash or a full disk
    tore (no newline, or cut inside a UTF-8 sequence), bytes that are not text, or a line that
    is not a JSON object: skipped by every reader, never an error."""
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        yield line, record if isinstance(record, dict) and "\ufffd" not in line else None


def read_metrics(run: Path) -> list[dict]:
    """The records of the run's metrics.jsonl in order, skipping (with a warning) torn or damaged
    lines; [] without the file. The one reader, for resume, plot and TensorBoard alike."""
    path = Path(run) / METRICS
    if not path.is_file():
        return []
    lines = list(_lines(path))
    bad = sum(record is None and bool(line.strip()) for line, record in lines)
    if bad:
        log.warning("skipping %d unreadable line(s) of %s", bad, path)
    return [record for _, record in lines if record is not None]


def truncate_metrics(run: Path, iteration: int) -> None:
    """Drop metrics lines written after the checkpoint a run resumes from (iteration), and any
    torn or damaged line, so that the resumed run's lines follow on as an uninterrupted run's do."""
    path = Path(run) / METRICS
    if not path.is_file():
        return
    kept, dropped = [], 0
    for line, record in _lines(path):
        step = None if record is None else record.get("iter", 0)
        ok = isinstance(step, int) and not isinstance(step, bool) and 0 <= step <= iteration
        kept += [line] if ok else []
        dropped += not ok and bool(line.strip())
    if dropped:
        log.info("dropped %d metrics lines of %s after iteration %d or damaged", dropped, path, iteration)
    write_text(path, "".join(line + "\n" for line in kept))

