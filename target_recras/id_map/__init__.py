"""The id map: which Recras customer each source key (and each in-flight create) became.

Rows have two kinds (:class:`~target_recras.writes.matching.KeyKind`):

``source``
    A source key (the stream's key properties, e.g. ``external_id``) and the customer it was
    written to. Kept for good: the next run updates that customer.
``natural``
    For records without any key: the customer's identity (name plus main contact) while its
    ``POST`` is not yet covered by an emitted STATE. A rerun after a crash replays those
    records; the entry turns the replay into an update. Entries are pruned once a STATE
    covering them has been emitted; a later record that updates the customer through an entry
    renews it first, so it stays until a STATE covers that record too.

Two back ends keep the rows: an SQLite file (``id_map_path``, or ``id_map_url``
``sqlite:///path``, :mod:`target_recras.id_map._sqlite`), and a PostgreSQL database that
workers on several machines share (``id_map_url`` ``postgresql://...``,
:mod:`target_recras.id_map._postgres`). :class:`IdMap` is the one interface
(:mod:`target_recras.id_map._map`); a back end is a
:class:`~target_recras.id_map._store.MapStore` that runs its SQL.

:meth:`IdMap.open` opens a map. A run holds it exclusively (:mod:`target_recras.id_map._lock`)
from opening it to closing it, so two runs never write the same customers. A dry run opens a
:class:`ReadOnlyIdMap`: not held, not migrated, and its writes do nothing.

Before a ``POST`` the row is written *pending* (no id yet) together with the identity it
sends, and committed before the ``POST`` leaves; after the answer the id is filled in. A
pending row at start-up means the previous run stopped between the two, and
:mod:`target_recras.writes.recovery` looks the customer up in Recras.

What is on disk when (one commit per create, not two): a change that a request depends on is
committed before the request is sent (``begin_create`` before the ``POST``; ``outdate_others``,
right before a ``PUT``, commits every change queued by then, since a queued answer may be what
names the customer). What an answer taught the map (:meth:`IdMap.store`, :meth:`IdMap.confirm`)
is only queued: it goes with the next commit of any lane, with :meth:`IdMap.commit` (the target
calls it before it emits a STATE, so no STATE covers a record whose rows are not on disk, and
at the end of a run) or with :meth:`IdMap.close`. A stop before that leaves the create pending,
exactly as a stop before its answer would: the next run looks it up (a confirmed digest lost
that way only means the record is sent again).

A ``source`` row also keeps the *digest* of the payload last written to its customer and
confirmed by Recras (:func:`~target_recras.writes.digest.payload_digest`), so that a record sent
again unchanged is skipped. It is set in the statement that records the confirmed write,
and cleared before a write of other data is sent: a write that fails or is cut off (Recras
may have applied it) leaves no digest, so whatever comes next is sent. Writer lanes run at
once, so a write to a customer also drops the digests of the other entries naming it or
writing to it, and those writes confirm no digest (the other write may land after theirs);
nor does a write to a customer that another entry names. Each method that reads and changes
the digests holds the memory lock throughout and queues its statements under it, so these
steps never interleave and the statements reach the store in the order of the changes. A
commit comes after letting go of that lock (with any other lane's changes queued by then, in
one transaction: on disk the map is always the map after some prefix of the changes).
Holding the lock across the commit made every lane wait for another lane's commit even to
read the map in memory.

The schema is versioned (:data:`SCHEMA_VERSION`; SQLite keeps it
in ``PRAGMA user_version``, PostgreSQL in table ``id_map_version``): a map of an older version
is migrated in place when a run holds it, and a map written by a newer target-recras is
refused rather than misread.
"""

from target_recras.id_map._keys import KeyKind
from target_recras.id_map._lock import IdMapBusyError
from target_recras.id_map._map import IdMap, PendingCreate, ReadOnlyIdMap
from target_recras.id_map._store import SCHEMA_VERSION, IdMapError

__all__ = [
    "SCHEMA_VERSION",
    "IdMap",
    "IdMapBusyError",
    "IdMapError",
    "KeyKind",
    "PendingCreate",
    "ReadOnlyIdMap",
]
