"""Recras API2 access shared by tap-recras and target-recras: settings, HTTP client, schemas."""

from recras_api.client import (
    UNPROCESSED_FAILURES,
    RecrasClient,
    RetryHook,
    RetryPolicy,
    WriteResult,
    klant_path,
)
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
from recras_api.settings import ConnectionSettings, connection_properties, max_workers_property

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
    "connection_properties",
    "klant_path",
    "max_workers_property",
]
