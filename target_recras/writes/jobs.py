"""What the target hands its writers: one validated record with what its write needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from target_recras.id_map import IdMap, KeyKind
from target_recras.writes.digest import same_lists, write_digest
from target_recras.writes.matching import customer_identity, lane


@dataclass(slots=True)
class UpsertJob:
    """One validated record, ready to be written."""

    seq: int
    input_line: int | None
    stream: str
    record: dict[str, Any]
    klant_id: int | None
    map_key: str | None
    kind: KeyKind | None
    #: Name plus main contact (how a lost create is found again): the sink's, for a keyless
    #: record (it is its map key); else worked out once, on the writer thread, when needed.
    identity: str | None = None
    #: The highest customer id Recras had before this record's POST (set when it is sent).
    floor: int | None = None
    #: The customer that holds lists of the record (``contactpersonen``, ``extra_fields``) as
    #: last written and confirmed, and their names (set before the write, while the id map
    #: still has that digest): a PUT to it leaves them out.
    written_lists: tuple[int, frozenset[str]] | None = None

    def digest(self, body: Mapping[str, Any]) -> str | None:
        """The :func:`write_digest` of a record with a source key (None without one)."""
        if self.kind != KeyKind.SOURCE:
            return None
        return write_digest(body, self.klant_id, self.record.get("contactpersonen"))

    def note_written_lists(self, id_map: IdMap, digest: str | None) -> None:
        """Set :attr:`written_lists`: the lists the id map confirms (by the stored digest).

        Only where that digest would let an unchanged record be skipped: the entry names
        the customer, which no other entry names.
        """
        if digest is None or self.map_key is None:
            return
        stored = id_map.digest(self.map_key)
        klant_id = self.klant_id if self.klant_id is not None else id_map.lookup(self.map_key)
        if (
            stored is None
            or klant_id is None
            or not id_map.unchanged(self.map_key, klant_id, stored)
        ):
            return
        names = same_lists(stored, digest)
        if names:
            self.written_lists = (klant_id, names)

    def kept_lists(self, klant_id: int) -> frozenset[str]:
        """The record's lists that ``klant_id`` holds as last written and confirmed."""
        if self.written_lists is None or self.written_lists[0] != klant_id:
            return frozenset()
        return self.written_lists[1]

    def unchanged(self, id_map: IdMap, digest: str | None) -> bool:
        """Is this payload the one last written to the record's customer and confirmed?"""
        if digest is None or self.map_key is None:
            return False
        klant_id = self.klant_id if self.klant_id is not None else id_map.lookup(self.map_key)
        return klant_id is not None and id_map.unchanged(self.map_key, klant_id, digest)

    def customer_identity(self) -> str:
        """The record's :func:`~target_recras.writes.matching.customer_identity`, computed once."""
        if self.identity is None:
            persons = self.record.get("contactpersonen", [])
            self.identity = customer_identity(self.record.get("naam"), persons)
        return self.identity

    @property
    def lane(self) -> str:
        """The record's :func:`~target_recras.writes.matching.lane`."""
        return lane(self.map_key, self.klant_id)
