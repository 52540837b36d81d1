"""The one family of user-facing errors.

Anything the user can fix (a missing file, an option out of range, a run directory from
another format version) raises a subclass of `RnntextError` whose message says what went
wrong and how to fix it. The CLI prints that one line and exits with status 2; any other
exception is a bug and stays a traceback.

A message names the options to give with rnntext.faces.ask, once: `str(error)` words them as
the Python API's keywords (unknown="skip"), `error.said("flag")` as the command line's flags
(--unknown skip), `error.said("json")` as the HTTP API's fields. A message that quotes another
error takes its `message`, so that every face still words the options in it.
"""

from rnntext.faces import say


class RnntextError(Exception):
    """A mistake of the user's, with a message that says what and how to fix it."""

    @property
    def message(self) -> str:
        """The message as written, its options not yet worded for a face."""
        return super().__str__()

    def said(self, face: str) -> str:
        """The message for `face`: "python", "flag" or "json" (rnntext.faces)."""
        return say(self.message, face)

    def __str__(self) -> str:
        return self.said("python")


class ConfigError(RnntextError):
    """An option is unknown, of the wrong type, out of range or contradicts another."""


class MissingExtra(RnntextError):
    """An optional part of rnntext (an extra: serve, plot, onnx, ...) is not installed."""


class InputError(RnntextError):
    """Input text is missing, empty, undecodable or otherwise unusable."""


class DatasetError(RnntextError):
    """A prepared dataset file is missing, foreign, damaged or too small."""


class RunError(RnntextError):
    """A run directory is missing, incomplete, damaged or from another format version."""


class TrainingError(RnntextError):
    """Training cannot go on (a non-finite loss, a refused resume)."""
