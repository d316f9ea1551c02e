"""Connection settings shared by tap-recras and target-recras.

Both plugins declare the same connection settings (so Meltano users configure them once) and
parse them into one :class:`ConnectionSettings`, which the HTTP client consumes.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

from recras_api.errors import RecrasConfigError
from recras_api.redact import register_credentials, scrub

#: The distribution that ships both plugins; its version is the plugins' version.
DISTRIBUTION = "recras-singer"
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_WORKERS = 4
MAX_WORKERS_LIMIT = 32


def user_agent(plugin_name: str) -> str:
    """Default ``User-Agent``: the plugin and its version, so Recras can tell clients apart."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{plugin_name}/{version}"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(raw: str) -> str:
    """Validate ``base_url`` and return it without a trailing ``/`` or ``/api2``.

    Users paste the instance URL in many forms (``https://x.recras.nl/``,
    ``https://x.recras.nl/api2``); every form maps to the same root. Messages quote the URL
    through :func:`~recras_api.redact.scrub`, so credentials typed into it never show.
    """
    parts = urlsplit(raw.strip())
    quoted = repr(scrub(raw))
    extras = f"base_url must not contain a query, fragment or credentials, got {parts.hostname}"
    if parts.username or parts.password:
        raise RecrasConfigError(extras)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = f"base_url must be a full URL such as https://demo.recras.nl, got {quoted}"
        raise RecrasConfigError(msg)
    try:
        port = parts.port
    except ValueError:  # out of range or not a number
        port = 0
    if port == 0:
        msg = f"base_url has an invalid port (it must be 1 to 65535), got {quoted}"
        raise RecrasConfigError(msg)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        msg = (
            f"base_url must use https:// for {parts.hostname} (plain http:// is only allowed "
            f"for loopback hosts such as a local sandbox), got {quoted}"
        )
        raise RecrasConfigError(msg)
    if parts.query or parts.fragment:
        raise RecrasConfigError(extras)
    path = parts.path.rstrip("/")
    path = path.removesuffix("/api2").removesuffix("/api2.php").rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the HTTP client needs; secrets are kept out of ``repr``."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    user_agent: str = "recras-singer"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], default_user_agent: str) -> ConnectionSettings:
        """Parse and validate plugin config; raise :class:`RecrasConfigError` naming the setting."""
        raw_url = config.get("base_url")
        if not isinstance(raw_url, str) or not raw_url.strip():
            msg = "base_url is required, e.g. https://demo.recras.nl"
            raise RecrasConfigError(msg)
        api_key = config.get("api_key") or None
        username = config.get("username") or None
        password = config.get("password") or None
        register_credentials(api_key=api_key, username=username, password=password)
        if not api_key and not (username and password):
            msg = (
                "No credentials: set api_key (an API key created in Recras), or the deprecated "
                "username and password"
            )
            raise RecrasConfigError(msg)
        if api_key and ("\r" in api_key or "\n" in api_key):
            # requests would refuse the header and quote its value, key and all, in the error.
            msg = "api_key contains a line break; copy the key from Recras without one"
            raise RecrasConfigError(msg)
        user_agent_value = str(config.get("user_agent") or default_user_agent)
        header_values = {"api_key": api_key, "username": username, "password": password}
        for name, value in {**header_values, "user_agent": user_agent_value}.items():
            _check_latin1(name, value)
        raw_timeout = config.get("request_timeout")
        timeout = DEFAULT_REQUEST_TIMEOUT if raw_timeout is None else float(raw_timeout)
        if not math.isfinite(timeout) or timeout <= 0:
            msg = f"request_timeout must be a positive number of seconds, got {raw_timeout}"
            raise RecrasConfigError(msg)
        return cls(
            base_url=normalize_base_url(raw_url),
            api_key=api_key,
            username=None if api_key else username,
            password=None if api_key else password,
            request_timeout=timeout,
            user_agent=user_agent_value,
        )


def _check_latin1(name: str, value: str | None) -> None:
    """HTTP headers carry Latin-1 only; requests would fail deep inside with the value."""
    if value is None:
        return
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        msg = (
            f"{name} contains a character that HTTP headers cannot carry (only Latin-1 is "
            f"possible); check the {name} setting for a mistyped or pasted character"
        )
        raise RecrasConfigError(msg) from None
