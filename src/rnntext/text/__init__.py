"""Reading, normalising and tokenizing text (NumPy and the standard library only).

The token levels are rnntext.text.levels; reading is rnntext.text.read. Nothing is imported
here eagerly: rnntext.config reads the level names, and must stay cheap to import.
"""

_EXPORTS = {"BUILTIN_CORPORA": "rnntext.text.read", "iter_text": "rnntext.text.read",
            "resolve_sources": "rnntext.text.read", "Vocab": "rnntext.text.levels.symbols",
            "build_vocab": "rnntext.text.levels.symbols"}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
