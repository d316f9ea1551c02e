"""Redirects: followed within the instance's origin (a bounded number of times), never beyond.

The real executables run against hostile servers that redirect list, detail and write
requests to a second server; that server must never receive anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, hostile_servers
from support.target import customer, run_target, singer_input, target_config

from recras_api import ConnectionSettings, RecrasClient, RecrasRedirectError, RetryPolicy
from tap_recras.testing import run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]
KEY = "redirect-key-8c1d-never-elsewhere"
CUSTOMER = {"id": 7, "naam": "Zeven"}
DETAIL = {**CUSTOMER, "contactpersonen": []}


def other_instance(servers: Servers) -> HostileServer:
    """A second server that would answer anything; it must see no request at all."""
    return servers(
        {
            "GET /api2/klanten": Reply.json([{"id": 666, "naam": "Not Recras"}]),
            "GET /api2/klanten/*": Reply.json({"id": 666, "contactpersonen": []}),
            "POST /api2/klanten": Reply.json({"id": 666}, 201),
        }
    )


def client_for(server: HostileServer) -> RecrasClient:
    settings = ConnectionSettings.from_config(server.config(api_key=KEY), "test")
    return RecrasClient(settings, logging.getLogger("test"), retry=RetryPolicy(max_tries=1))


@pytest.mark.slow
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_tap_stops_at_a_list_redirect_to_another_host(
    hostile_servers: Servers, status: int
) -> None:
    elsewhere = other_instance(hostile_servers)
    target = f"{elsewhere.url}/api2/klanten"
    server = hostile_servers({"GET /api2/klanten": Reply.redirect(target, status)})
    run = run_tap(server.config(api_key=KEY), timeout=60)
    assert run.returncode != 0
    assert f"redirected ({status}) to another origin, {elsewhere.url}" in run.stderr
    assert elsewhere.requests == []
    assert run.records("klanten") == []


@pytest.mark.slow
def test_tap_stops_at_a_detail_redirect_to_another_host(hostile_servers: Servers) -> None:
    elsewhere = other_instance(hostile_servers)
    server = hostile_servers(
        {
            "GET /api2/klanten": Reply.json([CUSTOMER]),
            "GET /api2/klanten/*": Reply.redirect(f"{elsewhere.url}/api2/klanten/666"),
        }
    )
    run = run_tap(server.config(api_key=KEY), timeout=60)
    assert run.returncode != 0
    assert "to another origin" in run.stderr
    assert elsewhere.requests == []


@pytest.mark.slow
def test_tap_follows_a_redirect_within_the_instance(hostile_servers: Servers) -> None:
    server = hostile_servers(
        {
            "GET /api2/klanten": Reply.redirect("/api2/v2/klanten?moved=1", 301),
            "GET /api2/v2/klanten": Reply.json([CUSTOMER]),
            "GET /api2/klanten/*": Reply.redirect("/api2/v2/klanten/7", 307),
            "GET /api2/v2/klanten/7": Reply.json(DETAIL),
        }
    )
    run = run_tap(server.config(api_key=KEY), timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [r["id"] for r in run.records("klanten")] == [7]
    moved = [seen for seen in server.requests if seen.path.startswith("/api2/v2/")]
    assert {seen.headers["Authorization"] for seen in moved} == {f"Bearer {KEY}"}


def test_a_redirect_loop_within_the_instance_is_bounded(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten": Reply.redirect("/api2/klanten", 302)})
    with pytest.raises(RecrasRedirectError, match="more than 5 redirects"):
        list(client_for(server).iter_klanten())
    assert len(server.requests) == 6


def test_target_never_sends_a_record_to_another_host(
    hostile_servers: Servers, tmp_path: Path
) -> None:
    elsewhere = other_instance(hostile_servers)
    server = hostile_servers(
        {
            "GET /api2/klanten": Reply.json([]),
            "POST /api2/klanten": Reply.redirect(f"{elsewhere.url}/api2/klanten", 307),
        }
    )
    result = run_target(
        target_config(tmp_path, server.config(api_key=KEY)), singer_input([customer(1)])
    )
    assert result.returncode != 0
    assert f"redirected (307) to another origin, {elsewhere.url}" in result.stderr
    assert elsewhere.requests == []
    assert not any('"id": 666' in line for line in result.stdout.splitlines())


def test_a_write_keeps_method_and_body_through_a_307_within_the_instance(
    hostile_servers: Servers,
) -> None:
    server = hostile_servers(
        {
            "PUT /api2/klanten/5": Reply.redirect("/api2/moved/5", 308),
            "PUT /api2/moved/5": Reply.json({"id": 5}),
        }
    )
    result = client_for(server).update_klant(5, {"naam": "Vijf"})
    assert result.klant_id == 5
    moved = server.requests[-1]
    assert (moved.method, moved.path, json.loads(moved.body)) == (
        "PUT",
        "/api2/moved/5",
        {"naam": "Vijf"},
    )


def test_a_write_is_not_turned_into_a_get_by_a_302(hostile_servers: Servers) -> None:
    server = hostile_servers({"POST /api2/klanten": Reply.redirect("/elsewhere", 302)})
    with pytest.raises(RecrasRedirectError, match="resend it as a GET"):
        client_for(server).create_klant({"naam": "X"})
    assert [seen.path for seen in server.requests] == ["/api2/klanten"]


def test_credentials_in_a_location_are_not_quoted(hostile_servers: Servers) -> None:
    location = "https://jan:hunter2-secret@evil.example/api2/klanten"
    server = hostile_servers({"GET /api2/klanten": Reply.redirect(location)})
    with pytest.raises(RecrasRedirectError) as raised:
        list(client_for(server).iter_klanten())
    assert "https://evil.example" in str(raised.value)
    assert "hunter2" not in str(raised.value)
