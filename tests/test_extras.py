"""A missing extra is one line with the command that installs it into the Python that is running:
that Python's own pip (so the right environment), pinned by constraints.txt from a checkout; and
that command works here."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rnntext import extras
from rnntext.cli import main
from rnntext.errors import MissingExtra

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny_run"


def test_the_command_is_this_pythons_pip_pinned_by_the_checkouts_constraints(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    words = shlex.split(extras.install_command("plot"))
    assert Path(words[0]).absolute() == Path(sys.executable).absolute()  # not whichever pip is on PATH
    assert words[1:] == ["-m", "pip", "install", "-c", "constraints.txt", "rnntext[plot]"]
    monkeypatch.chdir(tmp_path)  # elsewhere, the paths are whole
    assert shlex.split(extras.install_command("serve"))[5] == str(ROOT / "constraints.txt")


def test_outside_a_checkout_there_is_nothing_to_pin(monkeypatch, tmp_path):
    monkeypatch.setattr(extras, "CHECKOUT", tmp_path)
    assert shlex.split(extras.install_command("onnx"))[1:] == ["-m", "pip", "install", "rnntext[onnx]"]


def test_the_command_works_in_this_environment(monkeypatch):
    """Run it as printed (pip resolving from what is installed: no network): rnntext[plot] is there."""
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(ROOT)
    done = subprocess.run(shlex.split(extras.install_command("plot")) + ["--dry-run", "--no-index", "-q"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command, hidden, says", [
    (["plot", str(TINY), "-o", "{tmp}/c.png"], ("matplotlib",), "plotting needs matplotlib: "),
    (["serve", str(TINY)], ("fastapi", "uvicorn"), "the server needs FastAPI and uvicorn: "),
    (["export", "onnx", str(TINY), "-o", "{tmp}/m.onnx"], ("onnx",), "ONNX export (onnx) needs onnx (and onnxruntime "
                                                                     "to check the export): "),
])
def test_a_command_without_its_extra_says_how_to_add_it(command, hidden, says, monkeypatch, capsys, tmp_path):
    for name in hidden:  # as if not installed: importing it, or a module of it already imported, raises ImportError
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.setitem(sys.modules, loaded, None)
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.chdir(ROOT)
    assert main([w.replace("{tmp}", str(tmp_path)) for w in command]) == 2
    err = capsys.readouterr().err
    extra = {"plot": "plot", "serve": "serve", "export": "onnx"}[command[0]]
    assert err == f"rnntext {command[0]}: error: {says}{extras.install_command(extra)}\n"
    assert f"'rnntext[{extra}]'" in err and "-c constraints.txt" in err


def test_missing_is_the_users_error_with_the_command():
    error = extras.missing("bpe", "the bpe level")
    assert isinstance(error, MissingExtra)
    assert str(error) == f"the bpe level needs the tokenizers package: {extras.install_command('bpe')}"
