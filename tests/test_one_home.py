"""One home per concept, checked on the source: token levels and run-directory files.

Outside rnntext/text/levels/ no code tests a level's name or spells one (the web page's scripts
included: they get each level's JavaScript from the registry); outside rnntext/model/ no code
spells the name of a file in a run directory.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from rnntext.model import layout
from rnntext.text import levels

SRC = Path(__file__).resolve().parents[1] / "src" / "rnntext"
LEVEL_HOME = SRC / "text" / "levels"
RUNDIR_HOME = SRC / "model"
# Where a level name may still be spelled outside its home, and why. The option's default is
# the configuration's to hold (one home for defaults).
LEVEL_NAME_ALLOWED = {"config.py": 1,
                      "extras.py": 1}  # the pip extra `bpe` (the tokenizers package) shares the level's name
RUN_FILE_NAMES = {layout.MODEL_JSON, *layout.WEIGHTS.values(), layout.TRAINER, layout.TRAINER_JSON, layout.CONFIG,
                  layout.METRICS, layout.DATA, layout.MANIFEST, layout.CHECKPOINTS, layout.TENSORBOARD, layout.CURVES}


def _modules(outside: Path):
    for path in sorted(SRC.rglob("*.py")):
        if outside not in path.parents:
            yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _strings(tree, names) -> list[int]:
    """Lines of string constants (a whole string, or one element of a tuple, list or set) in
    `names`; text inside f-strings (messages) does not count."""
    in_messages = {id(n) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for n in ast.walk(node)}
    return sorted(node.lineno for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
                  and id(node) not in in_messages)


def _level_branches(tree) -> list[int]:
    """Lines comparing something called `level` (or `*.level`) with anything."""
    def is_level(node):
        return (isinstance(node, ast.Name) and node.id == "level") or (
            isinstance(node, ast.Attribute) and node.attr == "level")
    return sorted(node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Compare) and any(is_level(n) for n in (node.left, *node.comparators)))


def test_no_level_name_outside_the_level_home():
    found = {}
    for name, tree in _modules(LEVEL_HOME):
        hits = _strings(tree, set(levels.NAMES)) + _level_branches(tree)
        if hits and len(hits) != LEVEL_NAME_ALLOWED.get(name, 0):
            found[name] = sorted(hits)
    assert found == {}, f"level names or level tests outside rnntext/text/levels (file: lines): {found}"


SCRIPT_LEVEL = re.compile(rf"""["'`]({'|'.join(levels.NAMES)})["'`]|\b({'|'.join(levels.NAMES)})\s*:""")


def test_no_level_name_in_the_page_scripts():
    found = {p.relative_to(SRC).as_posix(): SCRIPT_LEVEL.findall(p.read_text(encoding="utf-8"))
             for p in sorted(SRC.rglob("*.js")) if LEVEL_HOME not in p.parents}
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert SCRIPT_LEVEL.search('const LEVELS = { char: {}, "word": {} }')


def test_the_checks_find_what_they_look_for():
    tree = ast.parse('if vocab.level in ("char", "byte"):\n    pass\nx = level == "word"\nopen(run / "model.json")\n'
                     'print(f"{run / \'model.json\'} is missing")\n')
    assert _level_branches(tree) == [1, 3]
    assert _strings(tree, set(levels.NAMES)) == [1, 1, 3]
    assert _strings(tree, RUN_FILE_NAMES) == [4]


# The pip extra and the option named `tensorboard` share the name of the run's tensorboard/ folder.
RUN_FILE_NAME_ALLOWED = {"extras.py": 1, "training/tensorboard.py": 2}


def test_no_run_file_name_outside_the_model_package():
    found = {name: lines for name, tree in _modules(RUNDIR_HOME)
             if (lines := _strings(tree, RUN_FILE_NAMES)) and len(lines) != RUN_FILE_NAME_ALLOWED.get(name, 0)}
    assert found == {}, f"run-directory file names outside rnntext/model (file: lines): {found}"

