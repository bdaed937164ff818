"""Errors the engine raises for bad input.

Every error a user can cause is an :class:`ImageDynamicsError`: its message says what is wrong, where, and how to
fix it.
Front ends (CLI, Blender) show the message and never a traceback.
"""


class ImageDynamicsError(Exception):
    """Base class: a problem with the user's input or environment, explained in the message."""


class InputError(ImageDynamicsError, ValueError):
    """An input file or argument is missing, unreadable or invalid."""


class MotionFileError(InputError):
    """A spectral-volume (.npz motion) file does not follow the format."""


class OutputError(ImageDynamicsError):
    """An output cannot be written (exists, unwritable, disk full)."""


class CancelledError(ImageDynamicsError):
    """Work was cancelled by the user; partial outputs were removed."""
