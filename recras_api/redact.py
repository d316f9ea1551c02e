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

from typing_extensions import override

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


#: Characters that must not reach a log line as they are, besides the C0 controls: DEL and
#: the C1 controls, line and paragraph separators, bidirectional overrides (text shown in
#: another order) and lone surrogates (text that cannot even be encoded).
_UNSAFE_BEYOND_C0 = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
#: In a message: every control (a newline forges a line of its own, ESC starts a terminal
#: escape sequence).
_UNSAFE_IN_LOGS = re.compile(f"[\x00-\x1f{_UNSAFE_BEYOND_C0}]")
#: In a traceback: all but its own line breaks and tabs.
_UNSAFE_IN_TRACEBACKS = re.compile(f"[\x00-\x08\x0b-\x1f{_UNSAFE_BEYOND_C0}]")


def _escaped(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def escape_controls(text: str, *, keep_line_breaks: bool = False) -> str:
    """``text`` with every character unsafe in a log line written as its escape (``\\n``).

    Names and values from outside (a property name Recras sends, a stream or field name in
    the input) are logged; unescaped, a newline in one forges a log line of its own and an
    ANSI sequence reaches the reader's terminal. ``keep_line_breaks``: for a traceback,
    whose lines are its own.
    """
    unsafe = _UNSAFE_IN_TRACEBACKS if keep_line_breaks else _UNSAFE_IN_LOGS
    return unsafe.sub(_escaped, text) if unsafe.search(text) else text


class RedactingFilter(logging.Filter):
    """Scrubs each log record's message and traceback, and escapes what is unsafe in them.

    Runs before any handler formats the record, so every line written is one line.
    """

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        clean = escape_controls(scrub(message))
        if clean != message:
            record.msg, record.args = clean, None
        # A stream's logger is named after the stream, which the input names.
        record.name = escape_controls(record.name)
        if record.exc_info and record.exc_info[0] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            clean = escape_controls(scrub(trace), keep_line_breaks=True)
            if clean != trace:
                # The formatters would render exc_info again, secrets and all.
                record.exc_text, record.exc_info = clean, None
        return True


#: The one filter every log handler gets (added once per handler).
LOG_FILTER = RedactingFilter()


def install_log_filter(logger: logging.Logger) -> None:
    """Add :class:`RedactingFilter` to the handlers ``logger``'s records reach (idempotent).

    A filter on a logger would miss records propagated from child loggers; a filter on a
    handler sees everything that handler writes.
    """
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if LOG_FILTER not in handler.filters:
                handler.addFilter(LOG_FILTER)
        current = current.parent if current.propagate else None
    root = logging.getLogger()
    for handler in root.handlers:
        if LOG_FILTER not in handler.filters:
            handler.addFilter(LOG_FILTER)
