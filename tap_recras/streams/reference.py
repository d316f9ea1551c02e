"""The reference tables: small lists read whole on every run (FULL_TABLE).

Nested lists (an arrangement's ``regels``, a contact form's ``Velden``) stay inside the record
[vendor notes, "Reference tables"].
"""

from __future__ import annotations

from recras_api.paging import ListEndpoint
from tap_recras.streams.base import ListedStream


class ProductenStream(ListedStream):
    """Products."""

    name = "producten"
    endpoint = ListEndpoint("/api2/producten", "product", "products")


class ProductgroepenStream(ListedStream):
    """Product groups."""

    name = "productgroepen"
    endpoint = ListEndpoint("/api2/productgroepen", "product group", "product groups")


class ArrangementenStream(ListedStream):
    """Packages, with their lines and programme."""

    name = "arrangementen"
    endpoint = ListEndpoint("/api2/arrangementen", "package", "packages")


class LocatiesStream(ListedStream):
    """Locations."""

    name = "locaties"
    endpoint = ListEndpoint("/api2/locaties", "location", "locations")


class BetaalmethodenStream(ListedStream):
    """Payment methods."""

    name = "betaalmethoden"
    endpoint = ListEndpoint("/api2/betaalmethoden", "payment method", "payment methods")


class BedrijvenStream(ListedStream):
    """The tenant's own companies (not customers)."""

    name = "bedrijven"
    endpoint = ListEndpoint("/api2/bedrijven", "company", "companies")


class ContactformulierenStream(ListedStream):
    """Contact forms, with their fields."""

    name = "contactformulieren"
    endpoint = ListEndpoint("/api2/contactformulieren", "contact form", "contact forms")


class VoucherTemplatesStream(ListedStream):
    """Voucher templates."""

    name = "voucher_templates"
    endpoint = ListEndpoint("/api2/voucher_templates", "voucher template", "voucher templates")


class DienstenStream(ListedStream):
    """Staff shifts."""

    name = "diensten"
    endpoint = ListEndpoint("/api2/diensten", "shift", "shifts")
