"""How a recording names the arrays it holds: "layer{k}.{exposed}", the layer and what its cell
exposes there (rnntext.cells.base.Cell.exposes: h, c, a gate ...)."""

from __future__ import annotations


def array_name(layer: int, exposed: str) -> str:
    return f"layer{layer}.{exposed}"


def split_name(name: str) -> tuple[int, str]:
    """(layer, exposed) of an array's name: "layer1.c" -> (1, "c")."""
    layer, _, exposed = name.partition(".")
    return int(layer.removeprefix("layer")), exposed
