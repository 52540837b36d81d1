import subprocess
import sys


def test_import_does_not_import_torch():
    code = "import sys, rnntext, rnntext.api, rnntext.cli, rnntext.text, rnntext.data; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_and_help(capsys):
    from rnntext import __version__
    from rnntext.cli import main

    assert main(["presets"]) == 0
    out = subprocess.run([sys.executable, "-m", "rnntext", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"rnntext {__version__}"
    out = subprocess.run([sys.executable, "-m", "rnntext", "--help"], capture_output=True, text=True)
    for command in ("prepare", "train", "sample", "eval", "info", "demo", "presets"):
        assert command in out.stdout
