"""No STATE leaves before the id map rows of the records it covers are committed.

A create's answer is queued in the id map, not committed at once (one commit per create).
A STATE tells the orchestrator that a rerun may start after it: the entries of the records
before it must then be on disk. The real target (in this process, against a real sandbox)
writes its STATE messages to a stream that, as each one arrives, reads the map as another
connection would; on both back ends.
"""

from __future__ import annotations

import io
import json
import logging
from contextlib import redirect_stdout
from typing import Any

from support.target import SECRET_KEY, customer, singer_input
from typing_extensions import override

from target_recras.id_map._map import locate
from target_recras.id_map._store import Statement
from target_recras.target import TargetRecras


def _resolved_on_disk(location: str) -> dict[str, int]:
    """The map's resolved entries, read by a connection of their own."""
    store = locate(location).open_read_only(location, logging.getLogger(__name__))
    assert store is not None
    try:
        rows = store.query(store.statements[Statement.LOAD])
    finally:
        store.close()
    return {str(key): int(str(klant_id)) for key, klant_id, _ in rows}


class _StatesReadingTheMap(io.StringIO):
    """Standard output that reads the map on disk as each STATE is written."""

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location
        self.seen: list[tuple[dict[str, Any], dict[str, int]]] = []

    @override
    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.seen.append((json.loads(line), _resolved_on_disk(self.location)))
        return super().write(text)


def test_a_state_leaves_once_the_entries_of_its_records_are_committed(
    sandbox_factory: Any, location: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    total = 6
    # One lane: each answer is queued until the STATE right after its record.
    where = "id_map_url" if location.startswith("postgresql://") else "id_map_path"
    config = {**sandbox.config(max_workers=1), where: location}
    out = _StatesReadingTheMap(location)
    with redirect_stdout(out):
        TargetRecras(config=config).listen(
            io.StringIO(singer_input([customer(n) for n in range(1, total + 1)], state_every=1))
        )
    assert [state for state, _ in out.seen] == [{"done": n} for n in range(1, total + 1)]
    for state, on_disk in out.seen:
        covered = {f"source:external_id='EXT-{n}'" for n in range(1, state["done"] + 1)}
        assert covered <= on_disk.keys(), (state, on_disk)
    assert len(sandbox.customers()) == total
