"""Helpers several test modules share (on pytest's pythonpath): the command line run in-process,
its one-line errors, and a terminal session driven through tmux."""

from __future__ import annotations

import subprocess
import time

from rnntext.cli import main

TINY = ["--num-layers", "1", "--hidden-size", "8", "--embed-size", "4", "--seq-len", "8", "--batch-size", "2",
        "--sample-every", "0", "--quiet", "--threads", "1", "--eval-every", "0"]  # a train command's tiny model


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


class Tmux:
    """The screen of a tmux session (wrapped lines joined), and waiting for a text to show on it."""

    def __init__(self, session: str):
        self.session = session

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.session], capture_output=True,
                              text=True).stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.time() + timeout
        while text not in self.screen() and time.time() < deadline:
            time.sleep(0.2)
        return self.screen()
