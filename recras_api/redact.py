"""The one place that knows this run's secrets and scrubs them from text that leaves the process.

Secrets are the ``api_key``, the ``password``, the HTTP Basic credentials built from it, and
any credentials written into a URL (``https://user:password@host``, also in malformed
forms such as ``https//user:password@host``). :func:`register_credentials` records the
secrets of the configuration (once per process: a run has one configuration); :func:`scrub`
replaces every occurrence, also JSON-escaped, percent-encoded or base64-encoded as in a
Basic ``Authorization`` header, with :data:`MASK` (values of at least
:data:`MIN_SECRET_CHARS` characters).

Applied by: :class:`recras_api.errors.RecrasError` (every message, including the server
bodies it quotes), the settings' config errors, the rejects file, and every log line through
:class:`RedactingFilter`, installed on the log handlers by :func:`install_log_filter`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from urllib.parse import quote

MASK = "***"
#: Shorter values are not masked as substrings: a password ``abc`` would hide every "abc" in
#: every message, and a value that short protects nothing anyway. Recras API keys are long.
MIN_SECRET_CHARS = 6

#: ``scheme://user:password@`` and ``//user@``: the userinfo after ``//``, up to the ``@``.
_URL_USERINFO = re.compile(r"(?<=//)[^\s/@'\"<>]+@")
#: ``user:password@host`` without ``//`` (a URL missing its scheme separator).
_BARE_USERINFO = re.compile(r"(?<![\w/])[\w.%+-]+:[^\s/@'\"<>]+@(?=[\w\[])")

_lock = threading.Lock()
_secrets: list[str] = []


def register_credentials(
    *, api_key: str | None, username: str | None, password: str | None
) -> None:
    """Remember the configured secrets (and the forms they travel in) for :func:`scrub`."""
    values = [api_key, password]
    if password:
        basic = f"{username or ''}:{password}".encode("latin-1", "replace")
        values.append(base64.b64encode(basic).decode("ascii"))
    forms: set[str] = set()
    for value in values:
        if value is None or len(value) < MIN_SECRET_CHARS:
            continue
        forms |= {value, json.dumps(value)[1:-1], quote(value, safe=""), repr(value)[1:-1]}
    with _lock:
        # Longest first, so that a secret containing another is masked whole.
        _secrets[:] = sorted(set(_secrets) | forms, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with URL credentials and every registered secret replaced by :data:`MASK`."""
    text = _URL_USERINFO.sub(f"{MASK}@", text)
    text = _BARE_USERINFO.sub(f"{MASK}@", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs each log record's message and traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[0] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            clean = scrub(trace)
            if clean != trace:
                # The formatters would render exc_info again, secrets and all.
                record.exc_text, record.exc_info = clean, None
        return True


_FILTER = RedactingFilter()


def install_log_filter(logger: logging.Logger) -> None:
    """Add :class:`RedactingFilter` to the handlers ``logger``'s records reach (idempotent).

    A filter on a logger would miss records propagated from child loggers; a filter on a
    handler sees everything that handler writes.
    """
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
        current = current.parent if current.propagate else None
    root = logging.getLogger()
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
