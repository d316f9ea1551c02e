"""Secrets never leave the process: not through errors, log lines, tracebacks or rejects.

The hostile server echoes the request's Authorization header in its error bodies (as a
misconfigured proxy does); the real executables must still print no credential.
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

from recras_api import ConnectionSettings, RecrasConfigError
from recras_api.redact import MASK, RedactingFilter, register_credentials, scrub
from tap_recras.testing import run_tap

__all__ = ["hostile_servers"]

KEY = "echo-key-5b7e21-must-not-leak"
PASSWORD = "pw-c0ffee-must-not-leak"
Servers = Callable[[dict[str, Any]], HostileServer]
ONE_CUSTOMER = Reply.json([{"id": 7, "naam": "Zeven"}])


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert PASSWORD not in text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("routes", "quoted"),
    [
        ({"GET /api2/klanten": Reply.echo_authorization(400)}, True),
        ({"GET /api2/klanten": Reply.echo_authorization(500, **{"Retry-After": "0"})}, False),
        (
            {
                "GET /api2/klanten": ONE_CUSTOMER,
                "GET /api2/klanten/*": Reply.echo_authorization(404),
            },
            False,
        ),
    ],
    ids=["list-400", "list-500", "detail-404"],
)
def test_tap_never_prints_a_key_the_server_echoes(
    hostile_servers: Servers, routes: Any, quoted: bool
) -> None:
    server = hostile_servers(routes)
    run = run_tap(server.config(api_key=KEY), timeout=60)
    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert_clean(run.stdout, run.stderr)
    if quoted:
        assert f"Authorization: Bearer {MASK}" in run.stderr


def test_tap_never_prints_basic_credentials_the_server_echoes(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten": Reply.echo_authorization(400)})
    run = run_tap(server.config(username="jan", password=PASSWORD), timeout=60)
    assert run.returncode != 0
    assert f"Authorization: Basic {MASK}" in run.stderr
    assert_clean(run.stdout, run.stderr)


def test_target_rejects_file_and_logs_never_show_an_echoed_key(
    hostile_servers: Servers, tmp_path: Path
) -> None:
    # The list answers too: the target may look for existing customers before it writes.
    routes = {
        "POST /api2/klanten": Reply.echo_authorization(406),
        "GET /api2/klanten": Reply.json([]),
    }
    server = hostile_servers(routes)
    config = target_config(tmp_path, server.config(api_key=KEY))
    result = run_target(config, singer_input([customer(1)]))
    rejects = (tmp_path / "rejects.jsonl").read_text(encoding="utf-8")
    assert [seen.method for seen in server.requests].count("POST") == 1
    assert f"Authorization: Bearer {MASK}" in rejects
    assert_clean(result.stdout, result.stderr, rejects)


@pytest.mark.parametrize(
    "base_url",
    ["https//jan:" + PASSWORD + "@demo.recras.nl", "jan:" + PASSWORD + "@demo.recras.nl"],
)
def test_config_errors_about_base_url_do_not_echo_its_password(base_url: str) -> None:
    with pytest.raises(RecrasConfigError, match="base_url") as raised:
        ConnectionSettings.from_config({"base_url": base_url, "api_key": "k"}, "test")
    assert PASSWORD not in str(raised.value)
    assert "demo.recras.nl" in str(raised.value)


def test_tap_executable_reports_a_bad_base_url_without_its_password(tmp_path: Path) -> None:
    run = run_tap({"base_url": f"https//jan:{PASSWORD}@demo.recras.nl", "api_key": KEY})
    assert run.returncode != 0
    assert "base_url" in run.stderr
    assert_clean(run.stdout, run.stderr)


def test_scrub_masks_registered_secrets_in_every_form() -> None:
    register_credentials(api_key=KEY, username="jan", password=PASSWORD)
    texts = [
        f"Bearer {KEY}",
        json.dumps({"echo": f'"{KEY}"'}),
        f"https://x.nl/?k={KEY}",
        "https://jan:anything@host/",
        "https//jan:anything@host",
    ]
    for text in texts:
        assert KEY not in scrub(text)
        assert "anything" not in scrub(text)
    assert scrub("plain text about h@x.nl") == "plain text about h@x.nl"


def test_log_filter_scrubs_messages_arguments_and_tracebacks(caplog: Any) -> None:
    register_credentials(api_key=KEY, username=None, password=None)
    logger = logging.getLogger("test_http_secrets")
    caplog.handler.addFilter(RedactingFilter())
    try:
        raise ValueError(f"boom {KEY}")
    except ValueError:
        logger.exception("failed with %s", KEY)
    text = caplog.text
    assert "failed with ***" in text
    assert "boom ***" in text
    assert KEY not in text
