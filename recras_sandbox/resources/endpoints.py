"""The ``/api2`` routes of the resources beyond customers: what each accepts and selects.

A route answers either one item (a detail) or a :class:`Listing` (the ids a list request
selects and how to render them), which the server sends paged or whole as it sends the
customer list. Filters follow the vendor notes: equality filters, comma lists for the key and
statuses, ``id>`` on bookings under ``booking_id_filter=accepted``, ``datumNa`` on invoices
under the ``datum_na`` reading, and the required date window of invoice lines under
``regels_eind``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recras_sandbox.options import SandboxOptions
from recras_sandbox.query import RejectError, date, integer, integers, parse_params
from recras_sandbox.resources.ledger import REFERENCE_TABLES, Ledger
from recras_sandbox.resources.table import IdsView, Keep, Table


@dataclass(frozen=True)
class Listing:
    """The rows a list request selects, in order, and how their items are rendered."""

    ids: list[int] | IdsView
    render: Callable[[list[int]], list[bytes]]
    #: Parameters the ``Link`` URLs repeat (the filters sent, never ``page``).
    kept: list[tuple[str, str]] = field(default_factory=list)


#: A route's answer: a detail's bytes or a list.
Answer = bytes | Listing
#: Answers a GET: (ledger, options, path match, query string) -> answer.
Handler = Callable[[Ledger, SandboxOptions, "re.Match[str]", str], Answer]


def resolve(path: str) -> tuple[str, Handler, re.Match[str]] | None:
    """The route template (the stats key), handler and match of a path, or None."""
    for template, pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            return template, handler, match
    return None


def _select(
    table: Table,
    params: dict[str, str],
    equal: Mapping[str, Callable[[str, str], object]],
    extra: list[tuple[str, Callable[[Any], bool]]] | None = None,
    min_id: int | None = None,
) -> list[int] | IdsView:
    """Ids of the rows matching the ``id`` list, the equality filters sent (``equal``: the
    parameters a table column may be compared on, with how each value is read: a set is a
    comma list) and ``extra`` column tests, from ``min_id`` on."""
    checks: list[tuple[int, Callable[[Any], bool]]] = []
    for name, read in equal.items():
        if name in params:
            wanted = read(name, params[name])
            allowed = wanted if isinstance(wanted, set) else {wanted}
            checks.append((table.columns.index(name), allowed.__contains__))
    checks.extend((table.columns.index(column), test) for column, test in extra or [])
    keep: Keep | None = None
    if checks:

        def keep(values: tuple[Any, ...]) -> bool:
            return all(test(values[index]) for index, test in checks)

    if "id" in params:
        ids = sorted(i for i in integers("id", params["id"]) if i in table)
        if min_id is not None:
            ids = [i for i in ids if i >= min_id]
        return ids if keep is None else [i for i in ids if keep(table.values(i))]
    if keep is None:
        return table.view(min_id)
    return table.selected((tuple(sorted(_kept(params))), min_id), lambda: table.ids(keep, min_id))


def _allowed(options: SandboxOptions, *names: str) -> set[str]:
    """The parameters a list accepts: its filters, ``id``, and ``page`` when paging."""
    allowed = {"id", *names}
    if options.page_size > 0:
        allowed.add("page")
    return allowed


def _kept(params: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, value) for key, value in params.items() if key != "page"]


def _text(name: str, raw: str) -> str:
    return raw


def _texts(name: str, raw: str) -> set[str]:
    return set(raw.split(","))


# ---------------------------------------------------------------- boekingen


def _bookings(ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str) -> Answer:
    names = ["klant_id", "status"]
    if options.booking_id_filter == "accepted":
        names.append("id>")
    params = parse_params(query, _allowed(options, *names))
    min_id = None
    if "id>" in params:
        min_id = integer("id>", params["id>"])
        if options.id_min == "exclusive":
            min_id += 1
    with ledger.lock:
        ids = _select(
            ledger.tables["boekingen"],
            params,
            {"klant_id": integer, "status": _texts},
            min_id=min_id,
        )
    return Listing(ids, ledger.booking_items, _kept(params))


def _booking(ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str) -> Answer:
    parse_params(query, set())
    item = ledger.booking_detail(_path_id(match, "Booking"))
    if item is None:
        raise RejectError(404, f"Booking {match.group(1)} not found")
    return item


# ---------------------------------------------------------------- facturen


def _invoices(ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str) -> Answer:
    params = parse_params(
        query, _allowed(options, "klant_id", "boeking_id", "status", "bedrijf_id", "datumNa")
    )
    extra: list[tuple[str, Callable[[Any], bool]]] = []
    if "datumNa" in params:
        after = date("datumNa", params["datumNa"])
        if options.datum_na == "exclusive":
            extra.append(("datum", lambda day: day is not None and day > after))
        else:
            extra.append(("datum", lambda day: day is not None and day >= after))
    invoices = ledger.tables["facturen"]
    equal = {"klant_id": integer, "boeking_id": integer, "status": _texts, "bedrijf_id": integer}
    with ledger.lock:
        ids = _select(invoices, params, equal, extra)
    return Listing(ids, _locked_items(ledger, invoices), _kept(params))


def _payments(ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str) -> Answer:
    params = parse_params(query, _allowed(options))
    invoice_id = _path_id(match, "Invoice")
    payments = ledger.tables["betalingen"]
    with ledger.lock:
        if invoice_id not in ledger.tables["facturen"]:
            raise RejectError(404, f"Invoice {invoice_id} not found")
        ids = ledger.children_ids("betalingen", invoice_id)
        if "id" in params:
            wanted = integers("id", params["id"])
            ids = [i for i in ids if i in wanted]
    return Listing(ids, _locked_items(ledger, payments), _kept(params))


# ---------------------------------------------------------------- factuurregels


def _invoice_lines(
    ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str
) -> Answer:
    params = parse_params(
        query,
        _allowed(
            options,
            "begin",
            "eind",
            "referentiedatum",
            "product_id",
            "btw_percentage",
            "Factuur.bedrijf_id",
            "Factuur.context",
        ),
    )
    for name in ("begin", "eind"):
        if name not in params:
            raise RejectError(400, f"Field {name} is required")
    begin = date("begin", params["begin"], 400)
    end = date("eind", params["eind"], 400)
    kind = params.get("referentiedatum", "factuur")
    if kind not in ("factuur", "booking"):
        raise RejectError(406, f"Field referentiedatum must be factuur or booking, got {kind!r}")
    tests: list[Callable[[tuple[Any, ...], tuple[Any, ...]], bool]] = []
    if "product_id" in params:
        # 0 stands for lines without a product.
        products = {None if i == 0 else i for i in integers("product_id", params["product_id"])}
        tests.append(lambda regel, invoice: regel[1] in products)
    if "btw_percentage" in params:
        rates = integers("btw_percentage", params["btw_percentage"])
        tests.append(lambda regel, invoice: regel[2] in rates)
    if "Factuur.bedrijf_id" in params:
        company = integer("Factuur.bedrijf_id", params["Factuur.bedrijf_id"])
        tests.append(lambda regel, invoice: invoice[3] == company)
    if "Factuur.context" in params:
        context = params["Factuur.context"]
        tests.append(lambda regel, invoice: invoice[5] == context)
    regels = ledger.tables["factuurregels"]
    invoices = ledger.tables["facturen"]
    with ledger.lock:
        include_end = options.regels_eind == "inclusive"
        ids = ledger.regel_ids_between(kind, begin, end, include_end=include_end)
        if "id" in params:
            wanted = integers("id", params["id"])
            ids = [i for i in ids if i in wanted]
        if tests:
            ids = [
                i
                for i in ids
                if all(
                    test(regels.values(i), invoices.values(regels.value(i, "factuur_id")))
                    for test in tests
                )
            ]
    return Listing(ids, _locked_items(ledger, regels), _kept(params))


# ---------------------------------------------------------------- reference tables


def _reference(ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str) -> Answer:
    params = parse_params(query, _allowed(options))
    table = ledger.tables[match.group(1)]
    with ledger.lock:
        ids = _select(table, params, {})
    return Listing(ids, _locked_items(ledger, table), _kept(params))


# ---------------------------------------------------------------- helpers


def _detail(table: str, what: str) -> Handler:
    """The route of one row of ``table`` (``what`` names it in the 404)."""

    def detail(ledger: Ledger, options: SandboxOptions, match: re.Match[str], query: str) -> Answer:
        parse_params(query, set())
        row_id = _path_id(match, what)
        item = ledger.tables[table].item(row_id)
        if item is None:
            raise RejectError(404, f"{what} {row_id} not found")
        return item

    return detail


def _path_id(match: re.Match[str], what: str) -> int:
    raw = match.group(1)
    if not raw.isascii() or not raw.isdigit():
        raise RejectError(404, f"{what} {raw} not found")
    return int(raw)


def _locked_items(ledger: Ledger, table: Table) -> Callable[[list[int]], list[bytes]]:
    """Render under the ledger's lock, skipping rows deleted since the selection."""

    def render(ids: list[int]) -> list[bytes]:
        with ledger.lock:
            return [item for item in map(table.item, ids) if item is not None]

    return render


_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("/api2/boekingen", re.compile(r"/api2/boekingen"), _bookings),
    ("/api2/boekingen/{id}", re.compile(r"/api2/boekingen/([^/]*)"), _booking),
    ("/api2/facturen", re.compile(r"/api2/facturen"), _invoices),
    ("/api2/facturen/{id}", re.compile(r"/api2/facturen/([^/]*)"), _detail("facturen", "Invoice")),
    ("/api2/facturen/{id}/betalingen", re.compile(r"/api2/facturen/([^/]*)/betalingen"), _payments),
    ("/api2/factuurregels", re.compile(r"/api2/factuurregels"), _invoice_lines),
    (
        "/api2/producten/{id}",
        re.compile(r"/api2/producten/([^/]*)"),
        _detail("producten", "Product"),
    ),
    *((f"/api2/{name}", re.compile(f"/api2/({name})"), _reference) for name in REFERENCE_TABLES),
]
