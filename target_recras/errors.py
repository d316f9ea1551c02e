"""The one exception that ends a target-recras run early."""

from __future__ import annotations


class TargetStopError(Exception):
    """The run must stop; ``str(exc)`` tells the user why and what to do.

    Raised for 401/403, Recras staying unavailable after all retries, answers that cannot be
    trusted, and ``max_rejects`` exceeded. No STATE is emitted after it.
    """
