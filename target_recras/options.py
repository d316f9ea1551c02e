"""The target's own settings, parsed from its config, with their defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recras_api import ConnectionSettings
from recras_api.plugin.metrics import LOG_REQUEST_METRICS
from recras_api.settings import DEFAULT_MAX_WORKERS, user_agent

DEFAULT_REJECTS_PATH = "recras-rejects.jsonl"
DEFAULT_ID_MAP_PATH = "recras-id-map.sqlite3"
DEFAULT_ID_MAP_LOCK_TIMEOUT = 300.0
USER_AGENT = user_agent("target-recras")


@dataclass(frozen=True)
class TargetOptions:
    """The target's own settings, parsed from its config."""

    connection: ConnectionSettings | None
    max_workers: int
    dry_run: bool
    rejects_path: Path
    max_rejects: int | None
    #: Where the id map is: a file path, ``sqlite:///path`` or ``postgresql://...``.
    id_map_url: str
    id_map_lock_timeout: float
    #: Skip a keyed record whose payload was the last one written and confirmed.
    skip_unchanged: bool = True
    #: Log an ``http_request_duration`` METRIC line for every request.
    log_request_metrics: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetOptions:
        """Parse config; a dry run needs no credentials because it sends nothing.

        The defaults are applied here too, not only by the SDK's validation: a setting given
        as null passes that validation as null, and ``airbyte_recras`` parses a config the
        SDK never validated.
        """
        dry_run = bool(config.get("dry_run", False))
        connection = None
        if not dry_run or config.get("api_key") or config.get("username"):
            connection = ConnectionSettings.from_config(config, USER_AGENT)
        max_rejects = config.get("max_rejects")
        lock_timeout = config.get("id_map_lock_timeout")
        return cls(
            connection=connection,
            max_workers=int(config.get("max_workers") or DEFAULT_MAX_WORKERS),
            dry_run=dry_run,
            rejects_path=Path(config.get("rejects_path") or DEFAULT_REJECTS_PATH),
            max_rejects=None if max_rejects is None else int(max_rejects),
            id_map_url=str(
                config.get("id_map_url") or config.get("id_map_path") or DEFAULT_ID_MAP_PATH
            ),
            id_map_lock_timeout=DEFAULT_ID_MAP_LOCK_TIMEOUT
            if lock_timeout is None
            else float(lock_timeout),
            skip_unchanged=config.get("skip_unchanged") is not False,
            log_request_metrics=bool(config.get(LOG_REQUEST_METRICS)),
        )
