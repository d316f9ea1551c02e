"""The tap's discovered catalog with chosen streams selected, discovered once per process.

Discovery needs no server, but it is a subprocess of a few seconds: tests that select
different streams for each of many runs share one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from typing import Any

from tap_recras.testing import make_catalog


@functools.cache
def _discovered() -> str:
    config = {"base_url": "http://127.0.0.1:9", "api_key": "discovery-needs-no-key"}
    return json.dumps(make_catalog(config, streams=(), persons=False))


def catalog_of(streams: Collection[str]) -> dict[str, Any]:
    """The discovered catalog with ``streams`` (and every property of theirs) selected."""
    catalog: dict[str, Any] = json.loads(_discovered())
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
