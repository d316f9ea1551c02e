"""Recras API2 access shared by tap-recras and target-recras: settings, HTTP client, schemas.

Plain ``requests`` code that does not import singer-sdk; the plugins' settings schema and
config validation (the SDK side) are in :mod:`recras_api.plugin.settings` and
:mod:`recras_api.plugin.sdk_compat`, which only the plugins import.
"""

from recras_api.client import RecrasClient, WriteResult, klant_path
from recras_api.errors import (
    RecrasAuthError,
    RecrasConfigError,
    RecrasError,
    RecrasHTTPError,
    RecrasInputRejectedError,
    RecrasInvalidResponseError,
    RecrasNotFoundError,
    RecrasPermissionError,
    RecrasRedirectError,
    RecrasUnavailableError,
)
from recras_api.settings import ConnectionSettings
from recras_api.transport.retry_policy import UNPROCESSED_FAILURES, RetryHook, RetryPolicy

__all__ = [
    "UNPROCESSED_FAILURES",
    "ConnectionSettings",
    "RecrasAuthError",
    "RecrasClient",
    "RecrasConfigError",
    "RecrasError",
    "RecrasHTTPError",
    "RecrasInputRejectedError",
    "RecrasInvalidResponseError",
    "RecrasNotFoundError",
    "RecrasPermissionError",
    "RecrasRedirectError",
    "RecrasUnavailableError",
    "RetryHook",
    "RetryPolicy",
    "WriteResult",
    "klant_path",
]
