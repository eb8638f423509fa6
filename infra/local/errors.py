"""The one error the local stack raises when it cannot start or keep running."""
from __future__ import annotations


class StackError(RuntimeError):
    """A clear, user-facing reason the local stack stopped (port taken, bootstrap failed, child died)."""
