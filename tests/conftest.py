import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"

# Deterministic CPU math across machines: the suite is sized for two cores.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A small English text file made here (the project ships no third-party text)."""
    line = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n"
    path = tmp_path / "corpus.txt"
    path.write_text(line * 120, encoding="utf-8")
    return path


def shared_corpus(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"../shared/corpora/{name} is not present (it is only on the project's machines)")
    return path


CHROMIUM = os.environ.get("RNNTEXT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright: never a downloaded browser. Skips, saying
    why, where Playwright or /usr/bin/chromium (the Makefile installs it with apt-get) is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                                 "(pip install playwright; no browser download needed)")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; `make test` does it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
