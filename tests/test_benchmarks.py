"""The benchmarks and tools are run by hand, not by the suite: every rnntext import they make
(at the top or inside a function) must still resolve, so that a module moved in the library
cannot leave a benchmark broken until someone next runs it."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("tools/*.py")])


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rnntext":
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rnntext":
                    yield node.lineno, alias.name, []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_rnntext_import_of_a_script_resolves(script):
    missing = []
    for line, module, names in _imports(script):
        found = importlib.import_module(module)
        for name in names:
            if not hasattr(found, name):
                try:
                    importlib.import_module(f"{module}.{name}")
                except ModuleNotFoundError:
                    missing.append(f"line {line}: {module}.{name}")
    assert not missing, missing


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) > 10 and any(p.name == "quality.py" for p in SCRIPTS)
