"""What recras_api/transport/deadline.py relies on in urllib3 2 (pinned to that major version).

:class:`~recras_api.transport.deadline.WatchedAdapter` swaps urllib3's pool classes through the pool
manager's ``pool_classes_by_scheme``; the pools make their connections from ``ConnectionCls``;
a connection's ``getresponse`` is called once the request is sent, when ``sock`` is the socket
the answer comes on. If a urllib3 release changes one of these, the watched connections are
silently not used and a trickling server holds a run forever again: these tests fail first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import urllib3

from recras_api.transport.deadline import Deadline, WatchedAdapter

#: How long the trickling server would take to send its whole body (a byte per interval).
TRICKLE_BYTES = 100
TRICKLE_INTERVAL = 0.2
END_MARK = b"END"


class TrickleHandler(BaseHTTPRequestHandler):
    """Sends the headers at once, then one byte per interval, then an end mark."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(TRICKLE_BYTES + len(END_MARK)))
        self.end_headers()
        try:
            for _ in range(TRICKLE_BYTES):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(TRICKLE_INTERVAL)
            self.wfile.write(END_MARK)
        except OSError:
            pass  # the client shut the connection: what the test wants

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def trickling_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TrickleHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        adapter = WatchedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        yield session


def test_urllib3_is_the_major_version_the_pin_allows() -> None:
    assert urllib3.__version__.split(".")[0] == "2"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_pool_manager_builds_watched_pools_and_they_build_watched_connections(
    session: requests.Session, scheme: str
) -> None:
    adapter = session.get_adapter(f"{scheme}://127.0.0.1/")
    assert isinstance(adapter, WatchedAdapter)
    # No connection is opened: making a pool and a connection object does no I/O.
    pool = adapter.poolmanager.connection_from_url(f"{scheme}://127.0.0.1:9/")
    assert type(pool) is adapter.poolmanager.pool_classes_by_scheme[scheme]
    connection = pool._new_conn()
    assert isinstance(connection, pool.ConnectionCls)
    assert type(connection).__module__ == "recras_api.transport.deadline"
    assert "getresponse" in vars(type(connection))


def test_a_trickled_body_is_cut_when_the_deadline_is_spent(
    session: requests.Session, trickling_server: str
) -> None:
    deadline = Deadline.start(base_seconds=0.5)
    received = b""
    try:
        with deadline.waiting():
            response = session.get(trickling_server, stream=True, timeout=5)
            with pytest.raises(requests.exceptions.RequestException):
                for chunk in response.iter_content(chunk_size=1):
                    received += chunk
    finally:
        deadline.close()
    assert deadline.expired
    assert END_MARK not in received
    assert 0 < len(received) < TRICKLE_BYTES
