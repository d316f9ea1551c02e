"""Every private singer-sdk name the project relies on is a :class:`PrivateName`; this module's own.

singer-sdk has no public hook for a few steps the plugins need. Each package that uses one wraps
it in its own ``sdk_compat.py`` (this one, ``tap_recras/sdk_compat.py`` and
``target_recras/sdk_compat.py``) and lists it there in ``PRIVATE_NAMES``, all in one format:
where the name lives, what is done with it, and the fingerprint of its source in singer-sdk
:data:`CHECKED_SDK_VERSION`. ``tests/sdk_contract/test_sdk_private_names.py`` fails when the
installed SDK changes a listed name (gone, or other source code) and when a module outside the
three, a test or a benchmark names a private SDK name that none of them lists, so an SDK upgrade
is reviewed here instead of being found out in production.

This module's own: singer-sdk has no public hook between reading a plugin's config and
reporting what is wrong with it, so :class:`SecretSafeConfigValidation` overrides the private
``PluginBase._validate_config``.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import PluginBase

from recras_api.redact import install_log_filter, register_credentials

#: The singer-sdk release every listed private name was read in and tested against.
CHECKED_SDK_VERSION = "0.54.9"


@dataclass(frozen=True)
class PrivateName:
    """One private singer-sdk name: where it lives, what is done with it, its fingerprint.

    The fingerprint is the first 16 hex digits of the sha256 of what the project relies on:
    a function's or method's source; for an attribute the SDK sets on its instances, the
    source of the ``__init__`` that sets it; for any other value, its ``repr``. When one
    changes, read the new SDK code, adapt the ``sdk_compat.py`` that lists it, then update
    the fingerprint.
    """

    owner: object
    name: str
    use: str
    fingerprint: str

    @property
    def label(self) -> str:
        """``Owner.name``, as a test or a review names it."""
        owner = getattr(self.owner, "__qualname__", getattr(self.owner, "__name__", self.owner))
        return f"{owner}.{self.name}"

    def installed_fingerprint(self) -> str | None:
        """The fingerprint of the name in the installed singer-sdk (None: it is gone)."""
        value = getattr(self.owner, self.name, None)
        if callable(value):
            text = inspect.getsource(value)
        elif value is not None:
            text = repr(value)
        elif isinstance(self.owner, type) and re.search(
            rf"self\.{self.name}\b[^=\n]*=",
            init := inspect.getsource(self.owner.__init__),  # type: ignore[misc]
        ):
            text = init
        else:
            return None
        return hashlib.sha256(text.encode()).hexdigest()[:16]


PRIVATE_NAMES: tuple[PrivateName, ...] = (
    PrivateName(
        PluginBase,
        "_validate_config",
        "overridden by SecretSafeConfigValidation: secret values left out of config errors, "
        "credentials registered for scrubbing, unknown settings warned about",
        "0584b9e347e353fa",
    ),
)


class SecretSafeConfigValidation:
    """Mixin for both plugins' config validation: secrets stay secret, unknown names are named.

    singer-sdk 0.54 words a config error as jsonschema's message, which starts with the
    offending value (``987654321 is not of type 'string', 'null' in config['api_key']``):
    a key that YAML read as a number would be printed in full. Errors about a setting marked
    ``secret`` are reworded without the value. This overrides the private
    ``PluginBase._validate_config`` (see :data:`PRIVATE_NAMES`), which is one reason
    singer-sdk is pinned to 0.54.x.

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
