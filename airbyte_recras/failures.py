"""Why a command failed, as Airbyte wants to hear it: a TRACE ERROR with a ``failure_type``.

``config_error``: the user must change something (settings, credentials, permissions, the
catalog or state handed in); ``transient_error``: Recras could not be reached or kept failing
after the client's retries, so a later attempt may succeed; ``system_error``: anything else.
The kind is read from the exception and the exceptions it was raised from, so a target
stop caused by a bad setting still counts as a config error.
"""

from __future__ import annotations

import traceback

from singer_sdk.exceptions import ConfigValidationError

from recras_api.errors import (
    RecrasAuthError,
    RecrasConfigError,
    RecrasPermissionError,
    RecrasUnavailableError,
)
from tap_recras.inputs import TapInputError

CONFIG_ERROR = "config_error"
SYSTEM_ERROR = "system_error"
TRANSIENT_ERROR = "transient_error"


class ConnectorInputError(Exception):
    """The command line, config, catalog or state handed to the connector is unusable."""


_CONFIG_ERRORS = (
    ConnectorInputError,
    ConfigValidationError,
    RecrasConfigError,
    RecrasAuthError,
    RecrasPermissionError,
    TapInputError,  # a state or catalog the tap cannot resume from
)


def failure_type(exc: BaseException) -> str:
    """The Airbyte failure type of ``exc`` (or of the first known error it came from)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _CONFIG_ERRORS):
            return CONFIG_ERROR
        if isinstance(current, RecrasUnavailableError):
            return TRANSIENT_ERROR
        current = current.__cause__ or current.__context__
    return SYSTEM_ERROR


def describe(exc: BaseException) -> str:
    """A user-facing sentence for ``exc`` (config validation errors list every problem)."""
    if isinstance(exc, ConfigValidationError):
        problems = "; ".join(exc.errors) if exc.errors else str(exc)
        return f"Invalid configuration: {problems}"
    text = str(exc) or type(exc).__name__
    return text


def stack_trace(exc: BaseException) -> str:
    """The formatted traceback of ``exc`` (scrubbed by the writer)."""
    return "".join(traceback.format_exception(exc))
