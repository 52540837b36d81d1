"""The playground in a real browser: Debian's chromium, headless, driven by Playwright.

Never downloads a browser: it uses /usr/bin/chromium (the Makefile installs it with apt-get)
and skips, saying why, only where that or Playwright is missing.
"""

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server tests need the serve extra: pip install 'rnntext[serve]'")
pytest.importorskip("uvicorn", reason="the browser test needs uvicorn: pip install 'rnntext[serve]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                             "(pip install playwright; no browser download needed)")

def keep(shot: Path) -> None:
    """Copy a screenshot to $RNNTEXT_SCREENSHOTS, when set, to look at after the run."""
    if os.environ.get("RNNTEXT_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["RNNTEXT_SCREENSHOTS"]) / shot.name)


@pytest.fixture(scope="module")
def server(tiny_run, slow_model):
    """The app on uvicorn in a thread, on a free loopback port; yields its base URL.

    A batch of one stream, so a test can tell whether a stopped generation really let go.
    """
    import uvicorn

    from rnntext.serve.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app({"tiny": tiny_run, "slow": slow_model}, {"max_batch": 1, "max_concurrent": 1}), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.errors, page.elsewhere = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("request", lambda r: r.url.startswith(server) or r.url.startswith("data:") or page.elsewhere.append(r.url))
    page.goto(server + "/")
    page.wait_for_selector("#model option[value=tiny]", state="attached")
    yield page
    context.close()


def test_generate_streams_text_and_draws_the_chart(page, tmp_path):
    page.fill("#prime", "the quick ")
    page.locator("#length").evaluate("el => { el.value = 400; el.dispatchEvent(new Event('input')); }")
    assert page.text_content("#length-value") == "400"
    page.click("#generate")
    page.wait_for_function("document.querySelector('#out-gen').textContent.length > 0")
    page.wait_for_function("document.querySelector('#status').textContent.includes('tokens in')", timeout=30_000)
    page.wait_for_selector("#generate:enabled")
    assert page.is_hidden("#caret") and len(page.text_content("#out-gen")) == 400
    assert page.text_content("#out-prime") == "the quick "
    page.wait_for_function("document.querySelectorAll('#chart .bar-row').length === 10")
    widths = page.eval_on_selector_all("#chart .bar", "bars => bars.map(b => parseFloat(b.style.width))")
    assert widths == sorted(widths, reverse=True) and 0 < sum(widths) <= 100.0001  # one 0-100% scale for all
    assert page.is_hidden("#error")
    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep(shot)
    assert page.errors == [] and page.elsewhere == []


# Each control's box, and whether what it shows fits it: a select is measured by its longest
# option's text in its own font (the box less its padding and the arrow), other controls and the
# labels by their scroll width.
CONTROLS = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll("select, button, input, textarea, .label, .hint")].map((el) => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    let fits = el.scrollWidth <= el.clientWidth;
    if (el.tagName === "SELECT") {
      canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const longest = Math.max(...[...el.options].map((o) => canvas.measureText(o.text).width));
      fits = longest + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) + 20 <= el.clientWidth;
    }
    return {id: el.id || el.className || el.textContent.trim().slice(0, 20), top: box.top, bottom: box.bottom,
            width: box.width, fits, shown: box.width > 0};
  });
}"""


def test_at_1280_by_800_generate_shows_without_scrolling_and_no_control_is_cut(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.wait_for_selector("#model option[value=tiny]", state="attached")
        page.wait_for_function("document.querySelector('#model-info dd')")
        assert page.evaluate("window.scrollY") == 0
        box = page.locator("#generate").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 800, box
        controls = [c for c in page.evaluate(CONTROLS) if c["shown"]]
        assert len(controls) > 15
        assert [c["id"] for c in controls if not c["fits"]] == []
        unknown = next(c for c in controls if c["id"] == "unknown")
        assert unknown["width"] >= 200  # the whole "report an error", not "skip the"
        assert page.inner_text("#model-info").startswith("model\n1 x 32 lstm")
        page.screenshot(path=str(tmp_path / "playground-1280x800.png"))
        keep(tmp_path / "playground-1280x800.png")
    finally:
        context.close()


def test_the_bars_are_probabilities_on_a_0_to_100_scale_with_the_number_beside(page):
    page.fill("#prime", "the quick brown fox jumps over the lazy do")
    page.wait_for_function("document.querySelectorAll('#chart .bar-row').length === 10 && "
                           "document.querySelector('#chart .bar-prob').textContent !== ''")
    rows = page.eval_on_selector_all("#chart .bar-row", """rows => rows.map(r => ({
        bar: r.querySelector('.bar').getBoundingClientRect().width,
        track: r.querySelector('.bar-track').getBoundingClientRect().width,
        shown: r.querySelector('.bar-prob').textContent}))""")
    for row in rows:
        share = float(row["shown"].rstrip("%")) / 100
        assert abs(row["bar"] / row["track"] - share) <= max(0.01, 2 / row["track"]), row  # 1%, or a pixel or two
    assert sum(float(r["shown"].rstrip("%")) for r in rows) <= 100.5


def test_copy_button_copies_prime_and_text(page, browser, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.fill("#prime", "a st")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#status').textContent.includes('tokens in')", timeout=30_000)
    page.click("#copy")
    page.wait_for_function("document.querySelector('#copy').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == "a st" + page.text_content("#out-gen")


def test_errors_are_shown_plainly(page, tmp_path):
    page.select_option("#unknown", "error")
    page.fill("#prime", "QX")
    page.click("#generate")
    page.wait_for_selector("#error", state="visible")
    assert "not in the model's vocabulary" in page.text_content("#error")
    assert page.is_enabled("#generate")
    page.screenshot(path=str(tmp_path / "playground-error.png"))
    keep(tmp_path / "playground-error.png")


def test_stop_ends_the_generation_on_the_server(page, server):
    page.select_option("#model", "slow")  # 10 ms a token: 2000 tokens would hold the batch's one place 20 s
    page.locator("#length").evaluate("el => { el.value = 2000; el.dispatchEvent(new Event('input')); }")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#out-gen').textContent.length > 5")
    page.click("#stop")
    page.wait_for_function("document.querySelector('#status').textContent === 'stopped'")
    assert page.is_enabled("#generate") and page.is_hidden("#error")
    start = time.monotonic()
    answer = page.evaluate("""fetch('/v1/generate', {method: 'POST', headers: {'Content-Type': 'application/json'},
                               body: JSON.stringify({model: 'slow', length: 10})}).then(r => r.status)""")
    assert answer == 200 and time.monotonic() - start < 5


def test_docs_page_lists_the_endpoints_offline(page, server):
    page.goto(server + "/docs")
    page.wait_for_function("document.querySelectorAll('.endpoint').length >= 5")
    paths = page.eval_on_selector_all(".endpoint .path", "nodes => nodes.map(n => n.textContent)")
    assert {"/v1/models", "/v1/generate", "/v1/generate/stream", "/v1/next", "/healthz"} <= set(paths)
    generate = page.locator(".endpoint", has_text="/v1/generate").first
    assert "prime" in generate.text_content() and "temperature" in generate.text_content()
    assert page.is_hidden("#error") and page.errors == [] and page.elsewhere == []


def test_steering_controls_send_penalty_stop_strings_and_beam(page):
    sent = []
    page.on("request", lambda r: r.url.endswith("/v1/generate/stream") and sent.append(json.loads(r.post_data)))
    page.fill("#prime", "the ")
    page.fill("#stop_strings", "o\n\\n\\n")  # two stop strings: "o", and a blank line written as \n\n
    page.locator("#repetition_penalty").evaluate("el => { el.value = 1.5; el.dispatchEvent(new Event('input')); }")
    assert page.text_content("#repetition_penalty-value") == "1.50"
    page.click("#generate")
    page.wait_for_function("document.querySelector('#status').textContent.includes('tokens in')", timeout=30_000)
    assert sent[-1]["stop"] == ["o", "\n\n"] and sent[-1]["repetition_penalty"] == 1.5 and "beam" not in sent[-1]
    assert "o" not in page.text_content("#out-gen")
    page.fill("#beam", "2")
    page.evaluate("document.querySelector('#status').textContent = ''")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#status').textContent.includes('tokens in')", timeout=30_000)
    assert sent[-1]["beam"] == 2 and page.is_hidden("#error") and page.errors == []
