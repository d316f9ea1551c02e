"""The exception that ends a target-recras run early on its own account.

A stop signal ends it too, by :class:`recras_api.plugin.termination.Stopped`.
"""

from __future__ import annotations


class TargetStopError(Exception):
    """The run must stop; ``str(exc)`` tells the user why and what to do.

    Raised for 401/403, Recras staying unavailable after all retries, answers that cannot be
    trusted, and ``max_rejects`` exceeded. No STATE is emitted after it.
    """
