"""The two ways a run of the learner's code stops short: unsupported code, or the code's own error."""

from __future__ import annotations


class _Unsupported(Exception):
    """The code uses something the checker will not or cannot run: the verdict is unknown."""


class _RunError(Exception):
    """The learner's code raised an error while running (e.g. a shape mismatch)."""
