"""A PNG of a page `rnntext inspect` wrote, taken in headless Chromium (for the documentation).

    python tools/inspect_screenshot.py inspect.html docs/inspect.png [--unit layer1.c:37] [--point 120]

Opens the page from disk with Debian's chromium (/usr/bin/chromium, or $RNNTEXT_CHROMIUM)
through Playwright, never a downloaded browser; selects the unit given (else the page's own
choice, the unit with the largest |r|), points at a token when asked (its predictions show),
and writes the screenshot. Needs `pip install playwright` (no browser download).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CHROMIUM = os.environ.get("RNNTEXT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-dev-shm-usage"]


def screenshot(page_file: Path, png: Path, unit: str | None = None, point: int | None = None,
               width: int = 1400, height: int = 900) -> Path:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(Path(page_file).resolve().as_uri())
        page.wait_for_selector("body[data-state=ready]", timeout=60_000)
        if unit:
            name, _, index = unit.partition(":")
            page.evaluate("([n, u]) => window.rnntextInspect.select(n, u)", [name, int(index or 0)])
        if point is not None:
            page.click(f"#text span[data-t='{point}']")
        page.screenshot(path=str(png))
        browser.close()
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the HTML file rnntext inspect wrote")
    parser.add_argument("png", type=Path, help="the screenshot to write")
    parser.add_argument("--unit", help="the unit to show, as ARRAY:UNIT (layer1.c:37)")
    parser.add_argument("--point", type=int, help="the position of a token to click (its predictions show)")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    print(screenshot(args.page, args.png, args.unit, args.point, args.width, args.height))


if __name__ == "__main__":
    main()
