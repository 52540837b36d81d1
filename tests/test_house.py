"""The shape of the source tree: small modules and functions, library text about the repository
itself, and docs/architecture.md's package map in step with the imports."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "src" / "rnntext").rglob("*.py"))
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def _load_architecture():
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "tools" / "architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sources_are_found():
    assert len(SOURCES) > 40
    assert any(p.name == "api.py" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT / "src")))
def test_module_and_function_sizes(path):
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"{path.name}: {text.count(chr(10))} lines"
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(ast.parse(text))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_the_size_check_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f"def f():\n{body}\n")
    (fn,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert fn.end_lineno - fn.lineno + 1 == MAX_FUNCTION_LINES + 1


OUTSIDE = re.compile(r"\bissue\s*#?\d+|\bDESIGN\.md\b|\.\./shared", re.IGNORECASE)


def test_library_text_speaks_of_the_repository():
    found = [f"{p.name}: {m.group(0)}" for p in SOURCES for m in OUTSIDE.finditer(p.read_text(encoding="utf-8"))]
    assert found == []
    assert OUTSIDE.search("as issue 12 said") and OUTSIDE.search("see DESIGN.md")


def test_the_package_map_matches_the_imports():
    architecture = _load_architecture()
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert architecture.page_block(page) == architecture.diagram(), \
        "docs/architecture.md's package map is stale: run python tools/architecture.py --write"
    assert ("api", "config") in architecture.edges()
    assert not any(a == "text" and b in ("engines", "training", "cli") for a, b in architecture.edges())


def test_no_module_or_package_imports_in_a_circle():
    """Arrows point one way (imports inside functions count): no module, and no top-level
    module or package of the map, reaches itself through the modules it imports."""
    architecture = _load_architecture()
    assert architecture.circles(architecture.edges()) == []
    assert architecture.circles(architecture.module_edges()) == []
    assert architecture.circles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert ("rnntext.trained", "rnntext.model.saved") in architecture.module_edges()


def test_the_engines_stand_on_the_model_not_on_each_other():
    """Both engines build on rnntext.model (the parameter schema and initialisation); neither
    imports the other, and the model package imports torch nowhere at module level."""
    edges = _load_architecture().module_edges()
    engine = {a: a.split(".")[2] for a, _ in edges if a.startswith("rnntext.engines.") and a.count(".") >= 3}
    crossing = [(a, b) for a, b in edges if a in engine and b.startswith("rnntext.engines.") and b.count(".") >= 2
                and b.split(".")[2] in ("numpy", "torch") and b.split(".")[2] != engine[a]]
    assert crossing == []
    assert ("rnntext.engines.torch.module", "rnntext.model.parameters") in edges
    for path in sorted((ROOT / "src" / "rnntext" / "model").glob("*.py")):
        top = [n for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top for a in n.names] + [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not any(name.split(".")[0] == "torch" for name in names), path.name
