"""User-facing errors: one line that says what went wrong and what to do."""


class SrdistillError(Exception):
    """An error caused by the user's input (file, config, checkpoint), not a bug.

    The CLI prints ``str(error)`` as a single line and exits non-zero, without a traceback.
    """


class ConfigError(SrdistillError):
    """A config file or override is invalid."""


class DataError(SrdistillError):
    """An image or dataset could not be read or is unusable."""


class CheckpointError(SrdistillError):
    """A checkpoint is missing, unsafe, or does not match the requested model."""
