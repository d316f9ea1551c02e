"""HTTP handling: routing, authentication, faults, the ``/api2`` and ``/_sandbox`` endpoints.

Built on :mod:`http.server` with one thread per connection, HTTP/1.1 keep-alive and
TCP_NODELAY, and responses written with few large writes so that the sandbox is
never the bottleneck of a benchmark.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from typing_extensions import override
else:
    _Method = TypeVar("_Method", bound=Callable[..., Any])

    def override(method: _Method) -> _Method:
        """typing.override (Python 3.12); the sandbox runs on the standard library alone."""
        return method


from recras_sandbox.faults import FaultInjector
from recras_sandbox.limits import InFlightLimit, Release
from recras_sandbox.model import dumps
from recras_sandbox.options import SandboxOptions
from recras_sandbox.query import RejectError, integer, parse_params
from recras_sandbox.resources import admin, endpoints
from recras_sandbox.resources.endpoints import Listing
from recras_sandbox.resources.ledger import Ledger
from recras_sandbox.store import Store
from recras_sandbox.validation import ValidationError, validate_customer

#: Items joined per socket write when sending a list (about 1 MB per write).
_LIST_CHUNK = 2048
_MAX_BODY = 32 * 1024 * 1024
#: What a response with the invalid-JSON fault carries: JSON cut off mid-string.
BROKEN_BODY = b'[{"id":1,"type":"klant","displaynaam":"Afgebroken antwo'
_INT_RE = re.compile(r"-?[0-9]+")
_DETAIL_RE = re.compile(r"/api2/klanten/([^/]*)")
_ADMIN_CUSTOMER_RE = re.compile(r"/_sandbox/customers/([^/]*)")


class Stats:
    """Counts of ``/api2`` requests (by route) and responses (by status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._responses: Counter[str] = Counter()

    def request(self, route: str) -> None:
        with self._lock:
            self._requests[route] += 1

    def response(self, status: str) -> None:
        with self._lock:
            self._responses[status] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"requests": dict(self._requests), "responses": dict(self._responses)}

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._responses.clear()


class SandboxServer(ThreadingHTTPServer):
    """The listening server; holds the shared state the handlers use."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(
        self,
        address: tuple[str, int],
        store: Store,
        ledger: Ledger,
        faults: FaultInjector,
        options: SandboxOptions,
    ) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.ledger = ledger
        self.faults = faults
        self.options = options
        self.stats = Stats()
        self.in_flight = InFlightLimit(options.max_concurrent)

    @override
    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Small responses must not wait for Nagle / delayed ACK on keep-alive sockets.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are normal under benchmarks and fault tests.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One connection; ``protocol_version`` 1.1 keeps it alive between requests."""

    protocol_version = "HTTP/1.1"
    server_version = "recras-sandbox"
    sys_version = ""
    server: SandboxServer

    _counting = False
    #: Frees this request's concurrency-limit slot; called just before its answer leaves.
    _release_slot: Release | None = None

    @override
    def log_message(self, format: str, *args: Any) -> None:
        """Per-request logging would cost more than serving; stay quiet."""

    # ------------------------------------------------------------ plumbing

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            raise RejectError(413, "Request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _head(self, status: int, length: int, headers: dict[str, str] | None) -> bytes:
        phrase = HTTPStatus(status).phrase
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            "Server: recras-sandbox",
            f"Date: {self.date_time_string()}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {length}",
        ]
        if headers:
            lines.extend(f"{k}: {v}" for k, v in headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _free_slot(self) -> None:
        # Before the answer is written: a client that asks again once it has read the
        # answer never finds its own previous request still counted.
        release, self._release_slot = self._release_slot, None
        if release is not None:
            release()

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._free_slot()
        if self._counting:
            self.server.stats.response(str(status))
        # One write: headers and body leave in the same segment(s).
        self.wfile.write(self._head(status, len(body), headers) + body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, dumps(obj), headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, {"error": {"message": message}}, headers)

    def _send_list(
        self, items: list[bytes], headers: dict[str, str] | None = None, status: int = 200
    ) -> None:
        """Send a JSON array of pre-serialized items in ~1 MB writes."""
        self._free_slot()
        if self._counting:
            self.server.stats.response(str(status))
        count = len(items)
        length = 2 + sum(map(len, items)) + max(count - 1, 0)
        head = self._head(status, length, headers)
        if count == 0:
            self.wfile.write(head + b"[]")
            return
        write = self.wfile.write
        for start in range(0, count, _LIST_CHUNK):
            block = b",".join(items[start : start + _LIST_CHUNK])
            end = b"]" if start + _LIST_CHUNK >= count else b""
            if start == 0:
                write(b"".join((head, b"[", block, end)))
            else:
                write(b"".join((b",", block, end)))

    def _drop(self) -> None:
        """Close the socket without answering."""
        self._free_slot()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------ dispatch

    def _handle(self) -> None:
        # One handler serves every request of a keep-alive connection: reset per request.
        self._counting = False
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
        except RejectError as reject:
            self._error(reject.status, reject.message)
            return
        except ValueError:
            self.close_connection = True
            self._error(400, "Malformed request body framing")
            return
        if path.startswith("/_sandbox/"):
            self._run(self._admin, path, query, body)
        elif path == "/api2" or path.startswith("/api2/"):
            self._api(path, query, body)
        else:
            self._error(404, f"No route for {path}")

    #: Every method goes to the one dispatcher, which decides what a method may do.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815 - http.server names

    def _run(self, func: Any, *args: Any) -> None:
        try:
            func(*args)
        except RejectError as reject:
            self._error(reject.status, reject.message, reject.headers)
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:
            # A sandbox bug must show up as a clear 500, not as a dropped connection
            # that a client would mistake for an injected fault.
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self._error(500, f"Internal sandbox error: {exc!r}")

    def _api(self, path: str, query: str, body: bytes) -> None:
        self._counting = True
        self.server.stats.request(_route(self.command, path))
        with self.server.in_flight.admit(self.headers.get("Authorization", "")) as release:
            if release is not None:
                self._release_slot = release
                try:
                    self._api_admitted(path, query, body)
                finally:
                    self._release_slot = None
            else:
                retry_after = str(self.server.options.limit_retry_after)
                self._error(429, "Too many concurrent requests", {"Retry-After": retry_after})

    def _api_admitted(self, path: str, query: str, body: bytes) -> None:
        decision = self.server.faults.decide()
        if decision.latency_s > 0:
            time.sleep(decision.latency_s)
        # Faults come before any processing, so a faulted write changes nothing.
        if decision.fault == "drop":
            self.server.stats.response("dropped")
            self._drop()
        elif decision.fault == "429":
            self._error(429, "Too many requests", {"Retry-After": str(decision.retry_after)})
        elif decision.fault == "503":
            self._error(503, "Service temporarily unavailable")
        elif decision.invalid_json:
            self._send(200, BROKEN_BODY)
        else:
            self._run(self._api_process, path, query, body)

    # ------------------------------------------------------------ auth

    def _role(self) -> str | None:
        """'full', 'readonly', or None when the credentials are missing or wrong."""
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        options = self.server.options
        if scheme.lower() == "bearer" and value:
            if hmac.compare_digest(value.encode(), options.api_key.encode()):
                return "full"
            if hmac.compare_digest(value.encode(), options.readonly_key.encode()):
                return "readonly"
        elif scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, password = decoded.partition(":")
            if (
                sep
                and hmac.compare_digest(user.encode(), options.username.encode())
                and hmac.compare_digest(password.encode(), options.password.encode())
            ):
                return "full"
        return None

    # ------------------------------------------------------------ /api2

    def _api_process(self, path: str, query: str, body: bytes) -> None:
        role = self._role()
        if role is None:
            raise RejectError(
                401, "Not logged in: missing or invalid credentials", {"WWW-Authenticate": "Bearer"}
            )
        method = self.command
        if path == "/api2/personeel/me":
            self._allow(method, ("GET",))
            parse_params(query, set())
            self._me()
            return
        if path == "/api2/klanten":
            self._allow(method, ("GET", "POST"))
            if method == "GET":
                self._list(query)
            else:
                self._writable(role)
                parse_params(query, set())
                self._create(body)
            return
        match = _DETAIL_RE.fullmatch(path)
        if match is None:
            self._resource(method, path, query)
            return
        self._allow(method, ("GET", "PUT"))
        if method == "PUT":
            self._writable(role)
        raw_id = match.group(1)
        if not raw_id.isascii() or not raw_id.isdigit():
            raise RejectError(404, f"Customer {raw_id} not found")
        customer_id = int(raw_id)
        parse_params(query, set())
        if method == "GET":
            detail = self.server.store.detail(customer_id)
            if detail is None:
                raise RejectError(404, f"Customer {customer_id} not found")
            self._send(200, detail)
        else:
            self._update(customer_id, body)

    def _resource(self, method: str, path: str, query: str) -> None:
        """The resources beyond customers: read-only, answered by their route."""
        route = endpoints.resolve(path)
        if route is None:
            raise RejectError(404, f"No route for {path}")
        self._allow(method, ("GET",))
        _template, handler, match = route
        answer = handler(self.server.ledger, self.server.options, match, query)
        if isinstance(answer, Listing):
            self._send_listing(path, query, answer)
        else:
            self._send(200, answer)

    def _allow(self, method: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            raise RejectError(405, f"Method {method} not allowed", {"Allow": ", ".join(allowed)})

    @staticmethod
    def _writable(role: str) -> None:
        if role != "full":
            raise RejectError(403, "User does not have the editContact permission")

    def _me(self) -> None:
        options = self.server.options
        self._send_json(
            200,
            {
                "id": 1,
                "voornaam": "Sandbox",
                "achternaam": "Gebruiker",
                "displaynaam": "Sandbox Gebruiker",
                "email": "sandbox@example.com",
                "gebruikersnaam": options.username,
            },
        )

    def _list(self, query: str) -> None:
        options = self.server.options
        allowed = {"id>", "page"} if options.page_size > 0 else {"id>"}
        params = parse_params(query, allowed)
        min_id = None if "id>" not in params else integer("id>", params["id>"])
        store = self.server.store
        # The Link URLs repeat the id> the client sent; only the filter reads it.
        first_id = min_id
        if min_id is not None and options.id_min == "exclusive":
            first_id = min_id + 1
        shuffle_seed = options.seed if options.shuffle else None
        kept = [] if min_id is None else [("id>", str(min_id))]

        def select(offset: int, limit: int | None) -> tuple[int, list[bytes]]:
            return store.list_items(first_id, shuffle_seed, offset, limit)

        self._send_pages("/api2/klanten", params, kept, select)

    def _send_listing(self, path: str, query: str, listing: Listing) -> None:
        """Send what a resource's list request selected, paged as the customer list."""
        ids = listing.ids

        def select(offset: int, limit: int | None) -> tuple[int, list[bytes]]:
            chosen = ids[offset:] if limit is None else ids[offset : offset + limit]
            return len(ids), listing.render(chosen)

        params = dict(parse_qsl(query, keep_blank_values=True))
        self._send_pages(path, params, listing.kept, select)

    def _send_pages(
        self,
        path: str,
        params: dict[str, str],
        kept: list[tuple[str, str]],
        select: Callable[[int, int | None], tuple[int, list[bytes]]],
    ) -> None:
        """Send a list: whole without paging, else the page ``params`` asks for (from 1) with
        ``X-Page-Size``, ``X-Total-Count`` and ``Link`` URLs repeating ``kept``.

        ``select(offset, limit)`` returns the number of matching rows and the items of the
        slice (all from ``offset`` when ``limit`` is None); only the slice is rendered.
        """
        options = self.server.options
        if options.page_size <= 0:
            self._send_list(select(0, None)[1])
            return
        page = 1
        if "page" in params:
            raw = params["page"].strip()
            if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
                raise RejectError(406, f"Field page must be a positive integer, got {raw!r}")
            page = int(raw)
        size = options.page_size
        total, items = select((page - 1) * size, size)
        last = max(1, -(-total // size))
        headers = {
            "X-Page-Size": str(size),
            "X-Total-Count": str(total),
            "Link": self._links(path, kept, page, last),
        }
        self._send_list(items, headers)

    def _links(self, path: str, kept: list[tuple[str, str]], page: int, last: int) -> str:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])

        def url(number: int) -> str:
            return f"<http://{host}{path}?{urlencode([*kept, ('page', number)])}>"

        links = []
        if page < last:
            links.append(f'{url(page + 1)}; rel="next"')
        if page > 1:
            links.append(f'{url(min(page - 1, last))}; rel="prev"')
        links.append(f'{url(1)}; rel="first"')
        links.append(f'{url(last)}; rel="last"')
        return ", ".join(links)

    def _decode(self, body: bytes) -> object:
        try:
            return json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError) as exc:
            raise RejectError(406, f"Request body is not valid JSON: {exc}") from exc

    def _create(self, body: bytes) -> None:
        try:
            data = validate_customer(self._decode(body), creating=True)
            created, customer_id, item = self.server.store.create_or_merge(data)
        except ValidationError as exc:
            raise RejectError(406, str(exc)) from exc
        if created:
            self._send(201, item, {"Location": f"/api2/klanten/{customer_id}"})
        else:
            self._send(200, item)

    def _update(self, customer_id: int, body: bytes) -> None:
        store = self.server.store
        if store.item(customer_id) is None:
            raise RejectError(404, f"Customer {customer_id} not found")
        try:
            data = validate_customer(self._decode(body), creating=False)
            item = store.update(customer_id, data)
        except ValidationError as exc:
            raise RejectError(406, str(exc)) from exc
        if item is None:
            raise RejectError(404, f"Customer {customer_id} not found")
        self._send(200, item)

    # ------------------------------------------------------------ /_sandbox

    def _admin(self, path: str, query: str, body: bytes) -> None:
        if self._role() != "full" or not self.headers.get("Authorization", "").lower().startswith(
            "bearer "
        ):
            raise RejectError(401, "Admin endpoints need the Bearer API key")
        server = self.server
        method = self.command
        if path == "/_sandbox/stats":
            self._allow(method, ("GET",))
            customers, persons = server.store.counts()
            counts = {"customers": customers, "contact_persons": persons, **server.ledger.counts()}
            self._send_json(200, {**counts, **server.stats.snapshot()})
        elif path == "/_sandbox/reset-stats":
            self._allow(method, ("POST",))
            server.stats.reset()
            self._send_json(200, {"reset": True})
        elif path == "/_sandbox/customers":
            self._admin_customers(method, query)
        elif match := _ADMIN_CUSTOMER_RE.fullmatch(path):
            self._allow(method, ("DELETE",))
            self._admin_delete(match.group(1))
        elif path == "/_sandbox/faults":
            self._admin_faults(method, body)
        elif (reply := admin.answer(server.ledger, method, path, query, body)) is not None:
            if isinstance(reply, bytes):
                self._send(200, reply)
            else:
                self._send_list(reply)
        else:
            raise RejectError(404, f"No route for {path}")

    def _admin_faults(self, method: str, body: bytes) -> None:
        """GET: the fault settings; POST: change them."""
        self._allow(method, ("GET", "POST"))
        faults = self.server.faults
        if method == "GET":
            self._send_json(200, faults.settings())
            return
        changes = self._decode(body)
        if not isinstance(changes, dict):
            raise RejectError(400, "Body must be a JSON object of fault settings")
        try:
            self._send_json(200, faults.update(changes))
        except ValueError as exc:
            raise RejectError(400, str(exc)) from exc

    def _admin_customers(self, method: str, query: str) -> None:
        """GET: the dump of every customer; POST ?count=N: generate N more."""
        self._allow(method, ("GET", "POST"))
        store = self.server.store
        if method == "GET":
            self._send_list(list(store.dump()))
            return
        params = parse_params(query, {"count"})
        raw = params.get("count", "")
        if not raw.isascii() or not raw.isdigit():
            raise RejectError(400, "Query parameter count must be a non-negative integer")
        self._send_json(200, store.add_generated(int(raw), self.server.options.seed))

    def _admin_delete(self, raw_id: str) -> None:
        """Delete one customer; its persons are unlinked (docs/sandbox.md, admin endpoints)."""
        unlinked = None
        if raw_id.isascii() and raw_id.isdigit():
            unlinked = self.server.store.delete(int(raw_id))
        if unlinked is None:
            raise RejectError(404, f"Customer {raw_id} not found")
        self._send_json(200, {"deleted": int(raw_id), "unlinked_persons": unlinked})


def _route(method: str, path: str) -> str:
    """The stats key of a request: method plus path template."""
    resource = endpoints.resolve(path)
    if resource is not None:
        return f"{method} {resource[0]}"
    if path == "/api2/klanten":
        return f"{method} /api2/klanten"
    if _DETAIL_RE.fullmatch(path):
        return f"{method} /api2/klanten/{{id}}"
    if path == "/api2/personeel/me":
        return f"{method} /api2/personeel/me"
    return f"{method} /api2/(other)"
