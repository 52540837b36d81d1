"""The package map of rnntext as a Mermaid diagram, generated from the imports in src/.

Each node is a top-level module or subpackage of rnntext; an arrow A --> B says that code in A
imports B (an import inside a function counts too). `errors` (imported nearly everywhere) is
left out to keep the picture readable. `circles` finds modules or packages that import each
other in a loop: the house has none, and a test keeps it so.

    python tools/architecture.py            # print the diagram (and any circle, on stderr)
    python tools/architecture.py --write    # refresh it in docs/architecture.md between its markers
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "rnntext"
PAGE = ROOT / "docs" / "architecture.md"  # the page that shows the map
BEGIN, END = "<!-- architecture:begin -->", "<!-- architecture:end -->"
LEFT_OUT = {"errors", "__init__", "__main__"}


def unit(path: Path) -> str:
    """The top-level module or subpackage a file belongs to."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports(path: Path) -> list[list[str]]:
    """Each import statement of a file (at any depth) as the dotted names it could bring in:
    `from a.b import c, d` gives [a.b, a.b.c, a.b.d]."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append([node.module] + [f"{node.module}.{a.name}" for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.level and path.parent != PACKAGE:
            found.append(["rnntext." + path.relative_to(PACKAGE).parts[0]])
        elif isinstance(node, ast.Import):
            found += [[a.name] for a in node.names]
    return found


def imported_units(path: Path) -> set[str]:
    found = set()
    for names in imports(path):
        for name in names:
            parts = name.split(".")
            if parts[0] == "rnntext" and len(parts) > 1:
                if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").exists():
                    found.add(parts[1])
    return found


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its __init__.py)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def module_edges() -> list[tuple[str, str]]:
    """(A, B) where module A imports module B: `from p import m` counts for the module p.m where
    there is one, else for p. The package itself (rnntext/__init__.py, the public face) is no target."""
    known, pairs = modules(), set()
    for source, path in known.items():
        for names in imports(path):
            inner = [n for n in names[1:] if n in known]
            for target in inner if inner and len(inner) == len(names) - 1 else [n for n in names if n in known]:
                if target not in (source, "rnntext"):
                    pairs.add((source, target))
    return sorted(pairs)


def circles(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """The groups of nodes that import each other in a loop (Tarjan's strongly connected components)."""
    graph: dict[str, list[str]] = {}
    for a, b in pairs:
        graph.setdefault(a, []).append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def edges() -> list[tuple[str, str]]:
    pairs = set()
    for path in PACKAGE.rglob("*.py"):
        source = unit(path)
        if source in LEFT_OUT:
            continue
        for target in imported_units(path):
            if target != source and target not in LEFT_OUT:
                pairs.add((source, target))
    return sorted(pairs)


def diagram() -> str:
    lines = ["```mermaid", "graph LR"]
    lines += [f"  {a} --> {b}" for a, b in edges()]
    lines.append("```")
    return "\n".join(lines)


def page_block(text: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str]) -> int:
    for group in circles(edges()) + circles(module_edges()):
        print(f"circle: {' -> '.join(group)}", file=sys.stderr)
    if "--write" not in argv:
        print(diagram())
        return 0
    text = PAGE.read_text(encoding="utf-8")
    if page_block(text) is None:
        print(f"{PAGE.relative_to(ROOT)} has no {BEGIN} ... {END} block", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    PAGE.write_text(f"{head}{BEGIN}\n{diagram()}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
