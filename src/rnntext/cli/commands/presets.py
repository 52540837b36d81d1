"""`rnntext presets`: the presets, each with its description."""

from __future__ import annotations

HELP = "list the presets"


def add_arguments(p) -> None:
    pass


def run(args) -> int:
    from rnntext.config import preset_description, preset_names

    for name in preset_names():
        print(f"{name:24} {preset_description(name)}")
    return 0
