"""The one private singer-sdk name both plugins rely on, and only here.

singer-sdk has no public hook between reading a plugin's config and reporting what is wrong
with it, so :class:`SecretSafeConfigValidation` overrides the private
``PluginBase._validate_config`` (checked against singer-sdk :data:`CHECKED_AGAINST`, the
0.54.x line the project pins). :data:`PRIVATE_NAMES` lists it;
``tests/sdk_contract/test_api_fences.py`` fails when the installed SDK changes it (gone, new
signature, or new source code), and when another ``recras_api`` module names a private SDK
name, so an SDK upgrade is reviewed here. The tap's and the target's own SDK internals are in
``tap_recras/sdk_compat.py`` and ``target_recras/sdk_compat.py``.

Plugin glue like :mod:`recras_api.plugin_settings`: the HTTP client never imports it.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import PluginBase

from recras_api.redact import install_log_filter, register_credentials

#: The singer-sdk release the name below was read in and tested against.
CHECKED_AGAINST = "0.54.9"

#: (owner, private name, what the plugins do with it).
PRIVATE_NAMES: tuple[tuple[type, str, str], ...] = (
    (
        PluginBase,
        "_validate_config",
        "overridden by SecretSafeConfigValidation: secret values left out of config errors, "
        "credentials registered for scrubbing, unknown settings warned about",
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
