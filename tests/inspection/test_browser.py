"""The page `rnntext inspect` writes, in headless Chromium (Debian's /usr/bin/chromium through
Playwright, the `browser` fixture of tests/conftest.py): picking a unit colours every token by
that unit's value, the found units select themselves, a token shows the model's predictions, and
a hostile vocabulary stays text. The page is opened from file:// and must reach nothing else."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                   "(pip install playwright; no browser download needed)")

from rnntext import api  # noqa: E402
from rnntext.config import ModelConfig  # noqa: E402
from rnntext.inspection import inspect_text  # noqa: E402
from rnntext.inspection.page import write_page  # noqa: E402
from rnntext.model.parameters import init_params  # noqa: E402
from rnntext.text.levels.word import build_word_vocab  # noqa: E402

from .conftest import TEXT, bracket_run, write_run  # noqa: E402


@pytest.fixture(scope="module")
def tab(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.errors, page.elsewhere = [], []
    page.on("request", lambda r: r.url.startswith("file://") or r.url.startswith("data:") or page.elsewhere.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    yield page


def open_page(tab, path: Path):
    tab.errors.clear()
    tab.goto(path.as_uri())
    tab.wait_for_selector("body[data-state=ready]")
    return tab


def expected_colours(values: np.ndarray, fraction: bool) -> np.ndarray:
    """(T, 3) RGB as the page's scale defines it: s = 2v - 1 for a gate, else v / max|v|; white at
    s = 0, red (255, w, w) above and blue (w, w, 255) below, w = 255 (1 - |s|)."""
    s = 2 * values - 1 if fraction else values / np.abs(values).max()
    w = 255 * (1 - np.abs(np.clip(s, -1, 1)))
    return np.where((s >= 0)[:, None], np.stack([np.full_like(w, 255), w, w], 1), np.stack([w, w, np.full_like(w, 255)], 1))


def shown_colours(tab) -> np.ndarray:
    styles = tab.eval_on_selector_all("#text span", "spans => spans.map(s => s.style.backgroundColor)")
    return np.array([[int(x) for x in re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", c).groups()] for c in styles])


def keep(tab, name: str) -> None:
    """A screenshot into $RNNTEXT_SCREENSHOTS, when set, to look at after the run."""
    if folder := os.environ.get("RNNTEXT_SCREENSHOTS"):
        tab.screenshot(path=str(Path(folder) / name))


def test_picking_a_unit_colours_the_text_by_its_values(tab, tmp_path):
    model = api.load(bracket_run(tmp_path))
    report = inspect_text(model, TEXT, page_tokens=300)
    acts = report.shown
    page = open_page(tab, write_page(model, report, tmp_path / "page.html", name="brackets"))
    assert page.get_attribute("body", "data-selected") == "layer0.c:0"  # the page opens on the best unit: depth
    assert len(page.query_selector_all("#text span")) == 300
    assert "".join(page.eval_on_selector_all("#text span", "s => s.map(x => x.textContent)")) == \
        TEXT[:300].replace("\n", "\u23ce\n")
    # pick unit 2 of the forget gate with the controls: a gate, coloured around 1/2
    page.select_option("#layer", "0")
    page.select_option("#exposed", "layer0.f")
    page.fill("#unit", "2")
    assert page.get_attribute("body", "data-selected") == "layer0.f:2"
    gate = acts["layer0.f"][:, 2].astype(np.float64)
    assert gate.std() > 0.05
    assert np.abs(shown_colours(page) - expected_colours(gate, True)).max() <= 2  # 8-bit values: within 2 levels
    # the cell that counts brackets, chosen from the list of found units: red as deep as the brackets go
    page.click("#found button[data-array='layer0.c'][data-unit='0']")
    assert page.get_attribute("body", "data-selected") == "layer0.c:0"
    depth = acts["layer0.c"][:, 0].astype(np.float64)
    colours = shown_colours(page)
    assert np.abs(colours - expected_colours(depth, False)).max() <= 2
    assert (colours[np.isclose(depth, depth.max(), atol=1e-3)] == [255, 0, 0]).all()
    assert (colours[np.abs(depth) < 1e-3] == [255, 255, 255]).all() and depth.max() >= 2
    # pointing at a token shows what the model predicted there
    page.hover("#text span[data-t='7']")
    assert f"given p = {acts.next_prob[7]:.4f}" in page.text_content("#next-prob")
    tops = page.eval_on_selector_all("#detail td.p", "cells => cells.map(c => c.textContent)")
    assert tops == [f"{p:.4f}" for p in acts.top_probs[7]]
    keep(page, "inspect.png")
    assert page.errors == [] and page.elsewhere == []


def test_a_long_text_is_cut_and_the_page_says_so(tab, tmp_path):
    model = api.load(bracket_run(tmp_path))
    report = inspect_text(model, TEXT, page_tokens=50)
    page = open_page(tab, write_page(model, report, tmp_path / "page.html"))
    assert page.is_visible("#note") and "the page shows the first 50 (page_tokens)" in page.text_content("#note")
    page.click("#text span[data-t='49']")  # the last shown: its next token lies beyond the cut
    assert f"next came {TEXT[50]}, given p = {report.shown.next_prob[49]:.4f}" in page.text_content("#next-prob")


def test_a_hostile_vocabulary_and_name_stay_text(tab, tmp_path):
    hostile = ["</script><script>window.pwned=1</script>", "<img src=x onerror=window.pwned=2>", "&amp;", "<!--",
               "\u2028", '"quoted"', "ok"]
    text = " ".join(hostile * 4)
    vocab = build_word_vocab([text], "space")[0]
    cfg = ModelConfig(cell="gru", dropout=0.0, weight_drop=0.0, num_layers=1, hidden_size=(4,), embed_size=3)
    run = write_run(tmp_path, "run", cfg, vocab, init_params(cfg, len(vocab), np.random.default_rng(0)))
    model = api.load(run)
    name = "<img src=y onerror=window.pwned=3>"
    page = open_page(tab, write_page(model, inspect_text(model, text), tmp_path / "page.html", name=name))
    assert page.evaluate("window.pwned") is None and page.query_selector_all("img") == []
    assert page.text_content("#title") == f"rnntext inspect: {name}"
    assert "".join(page.eval_on_selector_all("#text span", "s => s.map(x => x.textContent)")) == model.vocab.decode(
        model.encode(text)[0])
    page.hover("#text span[data-t='0']")
    assert page.errors == [] and page.elsewhere == []


def test_the_screenshot_tool_writes_a_png(browser, tmp_path):
    """tools/inspect_screenshot.py, run as the documentation's maker runs it (its own process: the
    `browser` fixture only says whether Chromium is here)."""
    model = api.load(bracket_run(tmp_path))
    page = write_page(model, inspect_text(model, TEXT, page_tokens=200), tmp_path / "page.html")
    tool = Path(__file__).resolve().parents[2] / "tools" / "inspect_screenshot.py"
    png = tmp_path / "shot.png"
    subprocess.run([sys.executable, tool, page, png, "--unit", "layer0.c:0", "--point", "12", "--width", "900",
                    "--height", "600"], check=True, capture_output=True, timeout=120)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
