"""Customers (``klanten``) and their contact persons (``contactpersonen``)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from typing_extensions import override

from recras_api.paging import KLANTEN
from recras_api.schemas import CONTACTPERSOON_RECORD_SCHEMA, KLANT_SCHEMA
from tap_recras.streams.base import ChildStream, IdBookmarkedStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record


class KlantenStream(IdBookmarkedStream):
    """Customers from ``GET /api2/klanten``, incremental by ``id``.

    Contact persons come from one detail request per customer (``GET /api2/klanten/<id>``),
    shared by the nested property and the child stream.
    """

    name = "klanten"
    endpoint = KLANTEN
    nested = "contactpersonen"
    primary_keys: ClassVar[list[str]] = ["id"]
    default_replication_method = REPLICATION_INCREMENTAL
    schema = copy.deepcopy(KLANT_SCHEMA)
    selected_by_default = True

    @override
    def first_id(self, context: Context | None) -> int | None:
        """The smallest customer id this run extracts, or None for all.

        With a bookmark that is the bookmark + 1: the bookmark's own customer was sent.
        Without one (first run, or full table) it is the ``start_id`` setting.
        """
        after_bookmark = super().first_id(context)
        if after_bookmark is not None:
            return after_bookmark
        start_id = self.config.get("start_id")
        return int(start_id) if start_id is not None else None


class ContactpersonenStream(ChildStream):
    """Contact persons, one record per person per customer, in the customer's order."""

    name = "contactpersonen"
    parent_stream_type = KlantenStream
    parent_key = "klant_id"
    # A person linked to two customers is two records (one link each): keyed on ``id``
    # alone, a key-based target would keep one and drop the other link. Key properties are
    # "automatic" in the catalog, so ``klant_id`` is always sent.
    primary_keys: ClassVar[list[str]] = ["klant_id", "id"]
    schema = copy.deepcopy(CONTACTPERSOON_RECORD_SCHEMA)
    selected_by_default = True

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The current customer's contact persons, with ``klant_id`` and ``positie``."""
        klant_id = context["klant_id"] if context else None
        for position, person in enumerate(self.take_pending()):
            main = person.get("hoofdcontact")
            yield {
                **person,
                "klant_id": klant_id,
                "positie": position,
                # Recras lists the main contact first; trust an explicit flag when present.
                "hoofdcontact": main if isinstance(main, bool) else position == 0,
            }
