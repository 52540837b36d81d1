"""The recurrent cells, one module each, and their registry.

    from rnntext import cells
    cells.names()        # ("rnn_tanh", "rnn_relu", "lstm", "gru", "mingru", "minlstm"): --cell's choices
    cells.get("lstm")    # the Cell: gates, state parts, NumPy and torch steps, packing (base.py)
    cells.canonical("rnn")  # "rnn_tanh": a cell's `aliases` are other names --cell accepts

Everything outside this package asks the registry what a cell is; nothing else branches on
a cell's name. Importing it imports NumPy only: torch is imported by the torch methods when
they are called. To add a cell, write a module that defines `CELLS = (MyCell(),)` (see
base.py for what a Cell provides) and add the module's name to `MODULES`.
"""

from __future__ import annotations

import importlib

from rnntext.cells.base import Cell
from rnntext.errors import ConfigError

MODULES = ("rnn", "lstm", "gru", "minimal")  # in the order of names(): the registration of every cell

REGISTRY: dict[str, Cell] = {
    cell.name: cell for module in MODULES for cell in importlib.import_module(f"{__name__}.{module}").CELLS}


def names() -> tuple[str, ...]:
    """Every registered cell's name, in registration order."""
    return tuple(REGISTRY)


ALIASES: dict[str, str] = {alias: cell.name for cell in REGISTRY.values() for alias in cell.aliases}


def canonical(name: str) -> str:
    """The registered name of `name` (a name, or an alias such as rnn for rnn_tanh); anything
    else unchanged, for the caller's check to refuse."""
    return ALIASES.get(name, name)


def alias_note() -> str:
    """The aliases for a help text: " (rnn = rnn_tanh)", or "" without any."""
    pairs = ", ".join(f"{alias} = {name}" for alias, name in ALIASES.items())
    return f" ({pairs})" if pairs else ""


def get(name: str) -> Cell:
    """The registered cell called `name` (or an alias of it); a ConfigError naming the choices otherwise."""
    try:
        return REGISTRY[canonical(name)]
    except KeyError:
        raise ConfigError(f"cell: {name!r} is not one of {', '.join(REGISTRY)}") from None


__all__ = ["ALIASES", "REGISTRY", "Cell", "alias_note", "canonical", "get", "names"]
