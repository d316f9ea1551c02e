"""Resolving creates that a previous run left pending (it stopped between POST and answer).

Such a ``POST`` may or may not have reached Recras. Sending it again could create the
customer twice, so before any record is processed the target looks for it: one pass over
``GET /api2/klanten`` for customers with the same name, then ``GET /api2/klanten/<id>`` for
each of those to compare the main contact (e-mail, else first plus last name) -- the same
identity Recras is reported to merge on. Found: the id map entry gets that id and the
replayed record becomes an update. Not found: the entry is dropped and the record is created.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict

from recras_api import RecrasClient, RecrasNotFoundError
from target_recras.id_map import IdMap
from target_recras.payload import matches_identity


def resolve_pending_creates(client: RecrasClient, id_map: IdMap, logger: logging.Logger) -> None:
    """Settle every pending entry of ``id_map`` against what Recras holds."""
    pending = id_map.pending()
    if not pending:
        return
    logger.warning(
        "%d customer create(s) were in flight when the previous run stopped; looking them up "
        "in Recras so that none is created twice.",
        len(pending),
    )
    names = {json.loads(entry.identity)[0] for entry in pending}
    candidates: dict[str, list[int]] = defaultdict(list)
    for item in client.iter_klanten():
        naam, klant_id = item.get("naam"), item.get("id")
        if isinstance(naam, str) and naam in names and isinstance(klant_id, int):
            candidates[naam].append(klant_id)
    details: dict[int, dict] = {}
    for entry in pending:
        found = []
        for klant_id in candidates.get(json.loads(entry.identity)[0], []):
            if klant_id not in details:
                try:
                    details[klant_id] = client.get_klant(klant_id)
                except RecrasNotFoundError:
                    details[klant_id] = {}
            if matches_identity(entry.identity, details[klant_id]):
                found.append(klant_id)
        if found:
            # Several matches: the newest is the one the interrupted POST made (or merged into).
            id_map.resolve(entry.map_key, max(found))
            logger.info("Pending create %s is customer %d in Recras.", entry.map_key, max(found))
        else:
            id_map.forget(entry.map_key)
            logger.info("Pending create %s never reached Recras; it will be sent.", entry.map_key)
