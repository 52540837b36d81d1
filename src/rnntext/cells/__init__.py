"""The recurrent cells, one module each, and their registry.

    from rnntext import cells
    cells.names()        # ("rnn_tanh", "rnn_relu", "lstm", "gru", "mingru", "minlstm"): --cell's choices
    cells.get("lstm")    # the Cell: gates, state parts, NumPy and torch steps, packing (base.py)

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


def get(name: str) -> Cell:
    """The registered cell called `name`; a ConfigError naming the choices otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"cell: {name!r} is not one of {', '.join(REGISTRY)}") from None


__all__ = ["REGISTRY", "Cell", "get", "names"]
