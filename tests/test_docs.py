"""Every code block of README.md and docs/*.md is checked by a test, and this file says which.

- `python`: run by the test that reads its section (PYTHON names it; that test asks
  doc_blocks.code or doc_blocks.section for it by page and heading).
- `sh`: each `rnntext` command runs here, in-process, in a world of small texts of our own
  (WORLD) where the commands before it have run; only the training length is shortened, and
  SHORTER lists each such command beside what runs instead (the same words, less the length
  flags). `rnntext serve` starts no server: the app it would serve answers the block's `curl`
  in-process. Other programs (make, pip, the build, torchrun) are run by the test EXTERNAL
  names, and that test must name the program.
- `text`: what rnntext prints; OUTPUTS names the command that prints it, run here: each line
  of the block must match a line it printed, numbers aside. The source tree's listing in
  docs/architecture.md must name only paths that exist.
- `mermaid`: the package map, which tests/test_house.py keeps in step with the imports.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
from pathlib import Path

import doc_blocks
import pytest

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = {"python", "sh", "text", "mermaid"}

PYTHON = {  # (page, section) -> the test that runs its python blocks
    ("README.md", "Python API"): "tests/test_api_reference.py",
    ("docs/exporting.md", "Exporting"): "tests/interop/test_onnx_metadata.py",
}
EXTERNAL = {  # a command's first words -> (the test that runs it, the words that test must hold)
    ("make", "demo"): ("tests/test_docs.py", "test_the_makefile_does_what_the_set_up_says"),
    ("make", "test"): ("tests/test_docs.py", "test_the_makefile_does_what_the_set_up_says"),
    (".venv/bin/python", "-m", "build"): ("tests/test_wheel.py", '"-m", "build"'),
    ("pip", "install"): ("tests/test_wheel.py", '"pip", "install"'),
    ("rnntext", "demo"): ("tests/test_wheel.py", '"demo", "--time-limit"'),
    ("torchrun",): ("tests/training/test_distributed.py", "torchrun"),
}
SHORTER = {  # a command as written -> what runs here: a few iterations instead of minutes
    "rnntext train data.h5 -o runs/book --time-limit 600": "rnntext train data.h5 -o runs/book --max-iters 40",
    "rnntext train -o runs/book --resume --time-limit 600": "rnntext train -o runs/book --resume --max-iters 60",
    "rnntext train big.txt -o runs/big --time-limit 600": "rnntext train big.txt -o runs/big --max-iters 40",
    "rnntext train small.txt -o runs/small --init-from runs/big --time-limit 120":
        "rnntext train small.txt -o runs/small --init-from runs/big --max-iters 20",
    "rnntext train small.txt -o runs/small --init-from runs/big --init-weights best --force":
        "rnntext train small.txt -o runs/small --init-from runs/big --init-weights best --force --max-iters 20",
}
OUTPUTS = {  # (page, section) -> the command whose output its text block shows
    ("README.md", "A two-minute tour"): "rnntext train mybook.txt --max-chars 100000 -o runs/plan",
}
COPIES = {"runs/poe": "runs/book", "runs/poems": "runs/book"}  # runs the pages name, trained as runs/book is
CHAT_INPUT = "It was\n"  # what `rnntext chat` reads in the world


def all_blocks() -> list[doc_blocks.Block]:
    return [b for page in doc_blocks.pages() for b in doc_blocks.blocks(page)]


def sh_commands(page: str) -> list[list[str]]:
    return [words for b in doc_blocks.blocks(page) if b.language == "sh" for words in doc_blocks.commands(b.code)]


def external(words: list[str]) -> tuple[str, str] | None:
    return next((v for k, v in EXTERNAL.items() if tuple(words[:len(k)]) == k), None)


# -- the world the sh blocks run in -------------------------------------------------------------

WORDS = ("the old house stood at the end of a long road , and nobody had lived in it for years . "
         "a small dog ran across the yard when the rain began ; the children laughed and called it back . "
         "she opened the window , looked at the grey sky and said that the summer was over . "
         '" it was a fine day , " he said , " and we walked to the river before the light went . "').split()


def own_text(seed: int, lines: int) -> str:
    """English-like lines made here from our own words (the project ships no third-party text)."""
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        start = rng.randrange(len(WORDS) - 12)
        out.append(" ".join(WORDS[start:start + rng.randrange(6, 12)]).capitalize())
    return "\n".join(out) + "\n"


class World:
    """A folder with the texts the pages name, where commands run in-process, one after another."""

    def __init__(self, root: Path):
        self.root, self.app, self.ran = root, None, []
        for name, seed, lines in (("mybook.txt", 1, 500), ("other_book.txt", 2, 60), ("big.txt", 3, 500),
                                  ("small.txt", 4, 150)):
            (root / name).write_text(own_text(seed, lines), encoding="utf-8")

    def run(self, words: list[str], monkeypatch) -> tuple[int, str]:
        """Run one command of a page; return its status and what it printed (stdout and stderr)."""
        from rnntext.cli import main

        command = " ".join(words)
        words = SHORTER.get(command, command).split() if command in SHORTER else words
        if words[0] == "curl":
            return self.curl(words)
        out = io.StringIO()
        monkeypatch.chdir(self.root)
        monkeypatch.setattr("sys.stdin", io.StringIO(CHAT_INPUT))
        monkeypatch.setattr("rnntext.serve.app.run", self.serve)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main(words[1:])
        self.ran.append(command)
        return status, out.getvalue()

    def serve(self, run_dirs, host, port, allowed=(), **limits) -> None:
        """`rnntext serve` without a socket: the app it would serve, kept for the curl commands."""
        from rnntext.serve.app import create_app, model_names
        from rnntext.serve.limits import Limits

        self.app = create_app(model_names(run_dirs), Limits.of(limits))

    def curl(self, words: list[str]) -> tuple[int, str]:
        from fastapi.testclient import TestClient

        url = next(w for w in words if "localhost" in w or w.startswith("http"))
        path = "/" + url.split("://")[-1].partition("/")[2]
        body = words[words.index("-d") + 1] if "-d" in words else None
        with TestClient(self.app, base_url="http://localhost") as client:  # the curl's host
            reply = client.post(path, json=json.loads(body)) if body else client.get(path)
        return (0 if reply.status_code == 200 else 22), reply.text


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The world after the README's commands have run, with the runs the other pages name."""
    pytest.importorskip("torch")
    with pytest.MonkeyPatch.context() as monkeypatch:
        world = World(tmp_path_factory.mktemp("world"))
        world.readme = [(words, *world.run(words, monkeypatch)) for words in sh_commands("README.md")
                        if not external(words)]
        for copy, source in COPIES.items():
            shutil.copytree(world.root / source, world.root / copy)
        yield world


# -- the checks ---------------------------------------------------------------------------------

def test_every_block_names_a_language_that_is_checked():
    unnamed = [f"{b.page}:{b.line}" for b in all_blocks() if b.language not in LANGUAGES]
    assert unnamed == [], f"give these blocks one of {sorted(LANGUAGES)} and a test"


def test_every_python_block_is_run_by_the_test_that_names_its_section():
    for b in all_blocks():
        if b.language == "python":
            assert (b.page, b.section) in PYTHON, f"{b.page}:{b.line}: no test runs the python of {b.section!r}"
    for (page, heading), test in PYTHON.items():
        source = (ROOT / test).read_text(encoding="utf-8")
        assert f'"{page}", "{heading}"' in source, f"{test} does not read {page}'s {heading!r}"
        assert doc_blocks.code(page, heading), f"{page} has no python under {heading!r}"


def test_every_command_outside_rnntext_is_run_by_a_test_that_names_it():
    for page in doc_blocks.pages():
        for words in sh_commands(page):
            if words[0] in ("rnntext", "curl"):
                continue
            found = external(words)
            assert found, f"{page}: no test runs {' '.join(words)!r}: run it here or name the test in EXTERNAL"
            test, evidence = found
            assert evidence in (ROOT / test).read_text(encoding="utf-8"), f"{test} does not run {words[0]}"


def test_a_shorter_command_differs_only_in_its_length():
    length = {"--time-limit", "--max-iters"}

    def without_length(command: str) -> list[str]:
        words = command.split()
        return [w for i, w in enumerate(words) if w not in length and (i == 0 or words[i - 1] not in length)]

    written = {" ".join(w) for page in doc_blocks.pages() for w in sh_commands(page)}
    for command, shorter in SHORTER.items():
        assert command in written, f"SHORTER names {command!r}, which no page holds any more"
        assert without_length(command) == without_length(shorter)


def test_the_readme_commands_run_as_written(world):
    assert [words for words, status, _ in world.readme if status != 0] == []
    assert len(world.readme) >= 12
    assert (world.root / "runs" / "book" / "curves.png").is_file()  # plot
    assert (world.root / "book.html").is_file()  # inspect
    printed = dict((" ".join(words), out) for words, _, out in world.readme)
    assert "It was" in printed["rnntext chat runs/book"]  # the chat continued the typed line
    assert json.loads(printed["rnntext sample runs/book --num-samples 5 --top-p 0.9 --json"].splitlines()[0])


@pytest.mark.parametrize("page", [p for p in doc_blocks.pages() if p != "README.md" and sh_commands(p)])
def test_the_commands_of_each_page_run_as_written(world, page, monkeypatch):
    for words in sh_commands(page):
        if external(words):
            continue
        status, out = world.run(words, monkeypatch)
        assert status == 0, f"{page}: {' '.join(words)} -> {status}: {out[-600:]}"
        if "-o" in words:
            assert (world.root / words[words.index("-o") + 1]).exists()


def test_the_printed_output_is_what_rnntext_prints(world, monkeypatch):
    from rnntext.progress import TrainDisplay

    shown = TrainDisplay.__call__

    def first_step_then_stop(self, event):  # Ctrl-C after the first step's line: the run saves and stops
        shown(self, event)
        if event["kind"] == "step":
            raise KeyboardInterrupt

    monkeypatch.setattr(TrainDisplay, "__call__", first_step_then_stop)
    for (page, heading), command in OUTPUTS.items():
        blocks = [b for b in doc_blocks.blocks(page) if b.section == heading and b.language == "text"]
        assert blocks and command.split()[1:3] != [], f"{page} {heading!r} has no output block"
        _, printed = world.run(command.split(), monkeypatch)
        for line in blocks[0].code.splitlines():
            pattern = re.escape(line)
            pattern = re.sub(r"\d(?:[\d,]|\\\.)*", r"[\\d,.]+(?:e[+-]\\d+)?", pattern)
            assert re.search(f"^{pattern}$", printed, re.M), f"{page}: no printed line is like {line!r}:\n{printed}"
    text_blocks = {(b.page, b.section) for b in all_blocks() if b.language == "text"}
    assert text_blocks - set(OUTPUTS) == {("docs/architecture.md", "Architecture")}


def test_the_source_tree_listing_names_what_exists():
    listing = next(b.code for b in doc_blocks.blocks("docs/architecture.md") if b.language == "text")
    lines = listing.splitlines()
    assert lines[0] == "src/rnntext/"
    names = [m[1] for line in lines[1:] if (m := re.match(r"  (\S+)", line))]
    assert len(names) >= 15
    assert [n for n in names if not (ROOT / "src" / "rnntext" / n.rstrip("/")).exists()] == []


def test_the_makefile_does_what_the_set_up_says():
    """`make demo` installs and runs `rnntext demo` (which tests/test_wheel.py runs from an
    installed wheel); `make test` installs the development extras and runs this suite."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = dict(re.findall(r"^(\w[\w-]*):[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.M))
    assert "rnntext demo" in targets["demo"] and "-m pytest" in targets["test"]
    assert re.search(r"^test: dev\b", makefile, re.M) and re.search(r"^demo: install\b", makefile, re.M)
    assert re.search(r"^\$\(VENV\)/\.installed:.*\n\t\$\(PIP\) -e '\.\[\$\(TOUR_EXTRAS\)\]'$", makefile, re.M)
    extras = re.search(r"^TOUR_EXTRAS := (.*)$", makefile, re.M)[1].split(",")
    assert extras == ["serve", "plot", "onnx"]  # what the tour's serve, plot and export onnx need


def test_blocks_and_commands_are_found():
    assert doc_blocks.commands("a b  # c\n\n# d\nx 'y z' \\\n  w\n") == [["a", "b"], ["x", "y z", "w"]]
    assert external(["torchrun", "--nnodes=2"]) and not external(["rnntext", "sample"])
