"""Finding customers that a POST may have created although its answer never arrived.

Two situations leave that question open: a previous run stopped between POST and id map
commit (a *pending* id map entry), and a POST failed in a way Recras may have processed it
(a dropped connection or timeout) before the client retries it. Sending it again could
create the customer twice, so the target looks first: one pass over ``GET /api2/klanten``
(only ids above a floor when one is known) for customers with the same name, then
``GET /api2/klanten/<id>`` for each of those to compare the main contact (e-mail, else first
plus last name) -- the identity Recras is reported to merge on. Names compare as
:func:`~target_recras.writes.matching.identity_name` does: a create without a name has every
customer without one (null, ``""`` or blank) as a candidate, so its look-up reads each of
those in detail.

``id>`` is "the smallest id-value to allow": inclusive by its wording, strict on some servers.
Every look-up therefore asks ``id>`` = floor and drops ids at or below the floor itself, so
both readings give exactly the customers above the floor.

A lost ``POST`` may instead have merged into an older customer with the same name and main
contact, one another entry names: that entry's digest then no longer says what Recras holds.
So the look-up for pending creates lists every customer, and each match outdates the digests
of the other entries naming it (only one above the floor can be *claimed*, issue 8 item 1).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from recras_api import RecrasClient, RecrasNotFoundError
from recras_api.ids import is_json_int
from target_recras.id_map import IdMap
from target_recras.writes.matching import identity_name, matches_identity


def customers_above(client: RecrasClient, floor: int | None) -> Iterator[dict[str, Any]]:
    """The customers whose id is above ``floor`` (all of them for None), under either reading.

    Items without an integer id are skipped: they cannot be the customer looked for.
    """
    for item in client.iter_klanten(floor):
        klant_id = item.get("id")
        if is_json_int(klant_id) and (floor is None or klant_id > floor):
            yield item


def highest_customer_id(client: RecrasClient, floor: int) -> int:
    """The highest customer id in Recras, given that ``floor`` is known to exist (or 0)."""
    return max((item["id"] for item in customers_above(client, floor)), default=floor)


def find_created(
    client: RecrasClient, identities: Iterable[str], *, above: int | None = None
) -> dict[str, list[int]]:
    """For each identity found in Recras (ids above ``above``), its customers, newest first."""
    name_of = {identity: identity_name(json.loads(identity)[0]) for identity in identities}
    names = set(name_of.values())
    candidates: dict[str | None, list[int]] = defaultdict(list)
    for item in customers_above(client, above):
        naam = identity_name(item.get("naam"))
        if naam in names:
            candidates[naam].append(item["id"])
    details: dict[int, dict[str, Any]] = {}
    found: dict[str, list[int]] = {}
    for identity, naam in name_of.items():
        for klant_id in candidates.get(naam, []):
            if klant_id not in details:
                try:
                    details[klant_id] = client.get_klant(klant_id)
                except RecrasNotFoundError:
                    details[klant_id] = {}
            if matches_identity(identity, details[klant_id]):
                found.setdefault(identity, []).append(klant_id)
    return {identity: sorted(ids, reverse=True) for identity, ids in found.items()}


def unclaimed(candidates: Iterable[int], claimed: set[int], floor: int | None) -> int | None:
    """The newest candidate above ``floor`` that no other create or source key has claimed.

    Several creates may share a name and main contact. A customer another one already got
    is not this create's: where Recras merges, sending this one again merges into it once
    more; where it never merges, that is what creates this one's customer.
    """
    return next((c for c in candidates if c not in claimed and (floor is None or c > floor)), None)


def resolve_pending_creates(client: RecrasClient, id_map: IdMap, logger: logging.Logger) -> None:
    """Settle every pending entry of ``id_map`` against what Recras holds.

    Each pending create gets at most one customer, newer than its ``POST``'s floor and not
    named by any other entry; one without such a customer is forgotten and sent again. Every
    customer with its name and main contact (the lost ``POST`` may have merged into any of
    them) has the digests of the other entries naming it dropped.
    """
    pending = id_map.pending()
    if not pending:
        return
    logger.warning(
        "%d customer create(s) were in flight when the previous run stopped; looking them up "
        "in Recras so that none is created twice.",
        len(pending),
    )
    found = find_created(client, (entry.identity for entry in pending))
    claimed = id_map.mapped_ids()
    for entry in pending:
        matches = found.get(entry.identity, [])
        for match in matches:
            id_map.outdate_others(match, entry.map_key)
        klant_id = unclaimed(matches, claimed, entry.floor)
        if klant_id is not None:
            claimed.add(klant_id)
            id_map.resolve(entry.map_key, klant_id)
            logger.info("Pending create %s is customer %d in Recras.", entry.map_key, klant_id)
        else:
            id_map.forget(entry.map_key)
            logger.info("Pending create %s never reached Recras; it will be sent.", entry.map_key)
