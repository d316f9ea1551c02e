"""Lines that repeat once per request or record, logged a few times and then only at DEBUG.

A problem that every record of a run shares (a field Recras cannot take, a rate limit that
retries every other request) would otherwise log one line per record: 10,000 lines for
10,000 records, burying everything else. :class:`CappedLog` logs each kind of line (its
format string) ``limit`` times at its level, then says once that the rest follow at DEBUG
level only, where ``LOGLEVEL=debug`` still shows each one. The run's summary counts them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

#: How many lines of one kind a run logs at their own level.
LINES_PER_KIND = 10
#: Said once a kind reached its limit (unless the caller says where the rest go).
FURTHER_AT_DEBUG = "Lines like the one above are logged at DEBUG level only from now on."


class CappedLog:
    """Logs through ``logger``, each format string at most ``limit`` times above DEBUG."""

    def __init__(self, logger: logging.Logger, limit: int = LINES_PER_KIND) -> None:
        self.logger = logger
        self.limit = limit
        self._logged: Counter[str] = Counter()
        self._lock = threading.Lock()

    def warning(self, msg: str, *args: object, further: str = FURTHER_AT_DEBUG) -> None:
        """A capped warning; ``further`` is said once the limit is reached."""
        self.log(logging.WARNING, msg, *args, further=further)

    def info(self, msg: str, *args: object, further: str = FURTHER_AT_DEBUG) -> None:
        """A capped info line; ``further`` is said once the limit is reached."""
        self.log(logging.INFO, msg, *args, further=further)

    def log(self, level: int, msg: str, *args: object, further: str = FURTHER_AT_DEBUG) -> None:
        """Log at ``level`` while under the limit for ``msg``, at DEBUG after it."""
        with self._lock:
            self._logged[msg] += 1
            count = self._logged[msg]
        if count > self.limit:
            self.logger.debug(msg, *args)
            return
        self.logger.log(level, msg, *args)
        if count == self.limit:
            self.logger.log(level, "%s", further)
