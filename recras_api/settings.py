"""Connection settings shared by tap-recras and target-recras.

Both plugins declare the same connection settings (so Meltano users configure them once) and
parse them into one :class:`ConnectionSettings`, which the HTTP client consumes.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar
from urllib.parse import urlsplit

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from recras_api.errors import RecrasConfigError
from recras_api.redact import install_log_filter, register_credentials, scrub

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


def connection_properties(default_user_agent: str) -> list[th.Property]:
    """The settings every Recras plugin declares, in ``--about`` order."""
    return [
        th.Property(
            "base_url",
            th.StringType,
            required=True,
            title="Base URL",
            description=(
                "Address of your Recras instance, e.g. `https://demo.recras.nl` or "
                "`https://demo.recras.com`. Must be `https://`; plain `http://` is accepted "
                "only for loopback hosts (a local sandbox)."
            ),
            examples=["https://demo.recras.nl"],
        ),
        th.Property(
            "api_key",
            th.StringType,
            secret=True,
            title="API key",
            description=(
                "Secret. API key created in the Recras UI, sent as `Authorization: Bearer`. "
                "Preferred over username and password. Never logged."
            ),
        ),
        th.Property(
            "username",
            th.StringType,
            title="Username (deprecated)",
            description=(
                "Recras username for HTTP Basic auth, used only when `api_key` is not set. "
                "Recras deprecated Basic auth in July 2020."
            ),
        ),
        th.Property(
            "password",
            th.StringType,
            secret=True,
            title="Password (deprecated)",
            description="Secret. Password for `username` (HTTP Basic auth fallback). Never logged.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request timeout",
            description=(
                "Seconds to wait for Recras to connect or send data before a request counts "
                "as failed (and is retried)."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default=default_user_agent,
            title="User agent",
            description="`User-Agent` header sent with every request.",
        ),
    ]


def max_workers_property(description: str) -> th.Property:
    """The bounded concurrency setting both plugins offer."""
    return th.Property(
        "max_workers",
        th.IntegerType(minimum=1, maximum=MAX_WORKERS_LIMIT),
        default=DEFAULT_MAX_WORKERS,
        title="Max workers",
        description=f"{description} Between 1 and {MAX_WORKERS_LIMIT}.",
    )


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

    @property
    def uses_basic_auth(self) -> bool:
        """True when the deprecated username/password fallback is in use."""
        return not self.api_key

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


class SecretSafeConfigValidation:
    """Mixin for both plugins' config validation: secrets stay secret, unknown names are named.

    singer-sdk 0.54 words a config error as jsonschema's message, which starts with the
    offending value (``987654321 is not of type 'string', 'null' in config['api_key']``):
    a key that YAML read as a number would be printed in full. Errors about a setting marked
    ``secret`` are reworded without the value. This overrides a private SDK method, which is
    one reason singer-sdk is pinned to 0.54.x.

    It is also the first point where the config is known: it registers the credentials with
    :mod:`recras_api.redact` and installs the log filter, so nothing logged afterwards shows
    them, and it warns about every setting the plugin does not know (``api_kye``): the SDK
    ignores those silently. Known are the plugin's own settings and those the SDK adds for its
    capabilities (``stream_maps``, ``flattening_enabled``, ``batch_config``, ...), which the
    SDK has appended to ``config_jsonschema`` by the time the check runs.
    """

    config_jsonschema: ClassVar[dict[str, Any]]
    config: Mapping[str, Any]
    logger: logging.Logger

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        self._protect_credentials()
        try:
            errors: list[str] = super()._validate_config(  # type: ignore[misc]
                raise_errors=raise_errors
            )
        except ConfigValidationError as exc:
            raise ConfigValidationError(
                str(exc), errors=self._without_secrets(exc.errors), schema=exc.schema
            ) from None
        self._warn_unknown_settings()
        return self._without_secrets(errors)

    def _protect_credentials(self) -> None:
        texts = {
            name: value if isinstance(value, str) else None
            for name in ("api_key", "username", "password")
            for value in [self.config.get(name)]
        }
        register_credentials(
            api_key=texts["api_key"], username=texts["username"], password=texts["password"]
        )
        install_log_filter(self.logger)

    def _warn_unknown_settings(self) -> None:
        known = list(self.config_jsonschema.get("properties", {}))
        for name in sorted(set(self.config) - set(known)):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.logger.warning("Unknown setting %r is ignored%s", name, hint)

    def _without_secrets(self, errors: list[str]) -> list[str]:
        properties = self.config_jsonschema.get("properties", {})
        secrets = [name for name, prop in properties.items() if prop.get("secret")]
        return [_secret_safe(error, secrets) for error in errors]


def _secret_safe(error: str, secrets: list[str]) -> str:
    for name in secrets:
        if error.endswith(f" in config[{name!r}]"):
            return (
                f"config[{name!r}] is not valid: it must be a text string "
                "(the value is secret and not shown)"
            )
    return error
