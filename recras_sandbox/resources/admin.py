"""The ``/_sandbox`` endpoints of the resources beyond customers (docs/sandbox.md, admin
endpoints): every row of a resource, and the writes Recras users make in its UI (bookings
added and deleted, invoices added, an invoice's status changed, a payment registered)."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from recras_sandbox.model import dumps
from recras_sandbox.query import RejectError, date, parse_params
from recras_sandbox.resources.ledger import Ledger, LedgerError

_DATA_RE = re.compile(r"/_sandbox/data/([^/]+)")
_BOOKING_RE = re.compile(r"/_sandbox/boekingen/([^/]*)")
_INVOICE_RE = re.compile(r"/_sandbox/facturen/([^/]*)/(status|betalingen)")

#: A JSON body, or a list of pre-rendered items (sent as a JSON array).
Reply = bytes | list[bytes]


def answer(ledger: Ledger, method: str, path: str, query: str, body: bytes) -> Reply | None:
    """The reply to an admin request on these resources; None when the path is not theirs."""
    if match := _DATA_RE.fullmatch(path):
        _allow(method, "GET")
        rows = ledger.rows(match.group(1))
        if rows is None:
            raise RejectError(404, f"No resource {match.group(1)}")
        return rows
    if path == "/_sandbox/boekingen":
        _allow(method, "POST")
        return dumps(ledger.add_bookings(_count(query, set())))
    if match := _BOOKING_RE.fullmatch(path):
        _allow(method, "DELETE")
        booking_id = _id(match.group(1))
        if booking_id is None or not ledger.delete_booking(booking_id):
            raise RejectError(404, f"Booking {match.group(1)} not found")
        return dumps({"deleted": booking_id})
    if path == "/_sandbox/facturen":
        _allow(method, "POST")
        return dumps(_add_invoices(ledger, query))
    if match := _INVOICE_RE.fullmatch(path):
        _allow(method, "POST")
        return dumps(_invoice_write(ledger, match, body))
    return None


def _add_invoices(ledger: Ledger, query: str) -> list[int]:
    count = _count(query, {"datum"})
    raw = parse_params(query, {"count", "datum"}).get("datum")
    day: datetime.date | None = datetime.date.today()
    if raw == "concept":
        day = None
    elif raw is not None:
        day = datetime.date.fromisoformat(date("datum", raw, 400))
    try:
        return ledger.add_invoices(count, day)
    except LedgerError as exc:
        raise RejectError(400, str(exc)) from exc


def _invoice_write(ledger: Ledger, match: re.Match[str], body: bytes) -> dict[str, Any]:
    invoice_id = _id(match.group(1))
    if invoice_id is None:
        raise RejectError(404, f"Invoice {match.group(1)} not found")
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise RejectError(400, f"Body is not JSON: {exc}") from exc
    field = "status" if match.group(2) == "status" else "bedrag"
    if not isinstance(data, dict) or not isinstance(data.get(field), str):
        raise RejectError(400, f'Body must be {{"{field}": "..."}}')
    try:
        if field == "status":
            ledger.set_invoice_status(invoice_id, data[field])
            return {"id": invoice_id, "status": data[field]}
        return {"id": ledger.add_payment(invoice_id, data[field])}
    except LookupError as exc:
        raise RejectError(404, str(exc.args[0])) from exc
    except LedgerError as exc:
        raise RejectError(400, str(exc)) from exc


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise RejectError(405, f"Method {method} not allowed", {"Allow": allowed})


def _count(query: str, others: set[str]) -> int:
    raw = parse_params(query, {"count", *others}).get("count", "")
    if not raw.isascii() or not raw.isdigit():
        raise RejectError(400, "Query parameter count must be a non-negative integer")
    return int(raw)


def _id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() else None
