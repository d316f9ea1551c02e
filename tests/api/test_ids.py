"""One check for "a JSON integer" and "a customer id" (recras_api.ids), used everywhere.

JSON ``true`` decodes to ``True``, which ``isinstance(value, int)`` accepts: a check that
forgets it takes ``true`` for the id 1. The recovery look-up of target-recras forgot it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, hostile_servers

from recras_api import ConnectionSettings, RecrasClient, RetryPolicy, klant_path
from target_recras.writes.recovery import customers_above, highest_customer_id

__all__ = ["hostile_servers"]
Servers = Callable[[Mapping[str, Any]], HostileServer]


def client_for(server: HostileServer) -> RecrasClient:
    settings = ConnectionSettings.from_config(server.config(api_key="ids-key-123"), "test")
    return RecrasClient(settings, logging.getLogger("test.ids"), retry=RetryPolicy(max_tries=1))


def test_recovery_does_not_take_a_boolean_id_for_a_customer(hostile_servers: Servers) -> None:
    listed = [{"id": True, "naam": "Waar"}, {"id": 7, "naam": "Zeven"}, {"id": "8"}]
    server = hostile_servers({"GET /api2/klanten": Reply.json(listed)})
    client = client_for(server)
    assert [item["id"] for item in customers_above(client, None)] == [7]
    only_true = hostile_servers({"GET /api2/klanten": Reply.json([{"id": True}])})
    assert highest_customer_id(client_for(only_true), 0) == 0


@pytest.mark.parametrize("value", [True, False, 0, -3, 1.0, "5", None])
def test_klant_path_refuses_what_is_not_a_customer_id(value: object) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        klant_path(value)


def test_klant_path_builds_the_path_of_a_customer_id() -> None:
    assert klant_path(12) == "/api2/klanten/12"
