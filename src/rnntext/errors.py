"""The one family of user-facing errors.

Anything the user can fix (a missing file, an option out of range, a run directory from
another format version) raises a subclass of `RnntextError` whose message says what went
wrong and how to fix it. The CLI prints that one line and exits with status 2; any other
exception is a bug and stays a traceback.
"""


class RnntextError(Exception):
    """A mistake of the user's, with a message that says what and how to fix it."""


class ConfigError(RnntextError):
    """An option is unknown, of the wrong type, out of range or contradicts another."""


class InputError(RnntextError):
    """Input text is missing, empty, undecodable or otherwise unusable."""


class DatasetError(RnntextError):
    """A prepared dataset file is missing, foreign, damaged or too small."""


class RunError(RnntextError):
    """A run directory is missing, incomplete, damaged or from another format version."""


class TrainingError(RnntextError):
    """Training cannot go on (a non-finite loss, a refused resume)."""
