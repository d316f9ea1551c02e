"""Connection settings shared by tap-recras and target-recras.

Both plugins declare the same connection settings (so Meltano users configure them once) and
parse them into one :class:`ConnectionSettings`, which the HTTP client consumes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar
from urllib.parse import urlsplit

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from recras_api.errors import RecrasConfigError

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
    ``https://x.recras.nl/api2``); every form maps to the same root.
    """
    parts = urlsplit(raw.strip())
    extras = f"base_url must not contain a query, fragment or credentials, got {parts.hostname}"
    if parts.username or parts.password:
        # Checked first: the messages below quote the URL, and with it the password.
        raise RecrasConfigError(extras)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        msg = f"base_url must be a full URL such as https://demo.recras.nl, got {raw!r}"
        raise RecrasConfigError(msg)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        msg = (
            f"base_url must use https:// for {parts.hostname} (plain http:// is only allowed "
            f"for loopback hosts such as a local sandbox), got {raw!r}"
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
        timeout = float(config.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT)
        if timeout <= 0:
            msg = f"request_timeout must be a positive number of seconds, got {timeout}"
            raise RecrasConfigError(msg)
        return cls(
            base_url=normalize_base_url(raw_url),
            api_key=api_key,
            username=None if api_key else username,
            password=None if api_key else password,
            request_timeout=timeout,
            user_agent=str(config.get("user_agent") or default_user_agent),
        )


class SecretSafeConfigValidation:
    """Mixin for both plugins: config validation errors never quote a secret setting's value.

    singer-sdk 0.54 words a config error as jsonschema's message, which starts with the
    offending value (``987654321 is not of type 'string', 'null' in config['api_key']``):
    a key that YAML read as a number would be printed in full. Errors about a setting marked
    ``secret`` are reworded without the value. This overrides a private SDK method, which is
    one reason singer-sdk is pinned to 0.54.x.
    """

    config_jsonschema: ClassVar[dict[str, Any]]

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        try:
            errors: list[str] = super()._validate_config(  # type: ignore[misc]
                raise_errors=raise_errors
            )
        except ConfigValidationError as exc:
            raise ConfigValidationError(
                str(exc), errors=self._without_secrets(exc.errors), schema=exc.schema
            ) from None
        return self._without_secrets(errors)

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
