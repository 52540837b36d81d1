"""The package map of rnntext as a Mermaid diagram, generated from the imports in src/.

Each node is a top-level module or subpackage of rnntext; an arrow A --> B says that code in A
imports B. `errors` (imported nearly everywhere) is left out to keep the picture readable.

    python tools/architecture.py            # print the diagram
    python tools/architecture.py --write    # refresh it in README.md between its markers
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "rnntext"
README = ROOT / "README.md"
BEGIN, END = "<!-- architecture:begin -->", "<!-- architecture:end -->"
LEFT_OUT = {"errors", "__init__", "__main__"}


def unit(path: Path) -> str:
    """The top-level module or subpackage a file belongs to."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_units(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level and path.parent != PACKAGE:
            names = ["rnntext." + path.relative_to(PACKAGE).parts[0]]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "rnntext" and len(parts) > 1:
                if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").exists():
                    found.add(parts[1])
    return found


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


def readme_block(text: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str]) -> int:
    if "--write" not in argv:
        print(diagram())
        return 0
    text = README.read_text(encoding="utf-8")
    if readme_block(text) is None:
        print(f"README.md has no {BEGIN} ... {END} block", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(f"{head}{BEGIN}\n{diagram()}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
