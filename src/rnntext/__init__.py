"""rnntext: train recurrent language models on your own text and generate from them."""

__version__ = "0.1.0"

from rnntext.api import Model, load, prepare, train  # noqa: E402  (no torch at import)
from rnntext.errors import RnntextError  # noqa: E402

__all__ = ["Model", "RnntextError", "__version__", "load", "prepare", "train"]
