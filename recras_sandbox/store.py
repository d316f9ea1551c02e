"""Customer and contact-person storage: in memory, optionally persisted to SQLite.

Each customer is held as its serialized list item (compact JSON bytes). That *is* the
per-item cache of the list endpoint: a write re-serializes only the customer it
changes, and the list body is a join of cached bytes. Contact persons are held the
same way (without ``hoofdcontact``, which belongs to the link, not the person), and
each customer keeps the ids of its persons, main contact first.

Contact persons are entities of their own, as in Recras: a person can be linked to
several customers, and unlinking a person from a customer (or deleting the customer)
does not delete it. Where the docs leave a write rule open, the store follows the
sandbox's readings (:mod:`recras_sandbox.readings`, fields of its options).
"""

from __future__ import annotations

import bisect
import json
import random
import re
import threading
from collections.abc import Iterator
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from recras_sandbox import model, seed, sqlite
from recras_sandbox.options import SandboxOptions
from recras_sandbox.validation import CustomerInput, PersonInput, ValidationError

#: (naam, lower-case main e-mail) joined into one string: a million keys stay compact.
MergeKey = str
_NAAM_MARK = ',"naam":'
_DISPLAY_MARK = ',"displaynaam":'
_COMPANY_RE = re.compile(rb',"bedrijf_id":([0-9]+)')
_EMAIL_MARK = ',"email1":'


class _Database(sqlite.Database):
    """Write-through SQLite persistence; every call runs under the store's lock."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS customers ("
        " id INTEGER PRIMARY KEY, item BLOB NOT NULL, members TEXT NOT NULL, extra TEXT)",
        "CREATE TABLE IF NOT EXISTS persons (id INTEGER PRIMARY KEY, item BLOB NOT NULL)",
        # The highest customer id ever used, kept once a customer is deleted: ids of
        # deleted customers are never given out again.
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    )

    def load(
        self,
    ) -> tuple[list[tuple[int, bytes, str, str | None]], list[tuple[int, bytes]], int]:
        """All rows, customers ordered by id, and the highest customer id ever used."""
        customers = self._conn.execute(
            "SELECT id, item, members, extra FROM customers ORDER BY id"
        ).fetchall()
        persons = self._conn.execute("SELECT id, item FROM persons").fetchall()
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'max_customer_id'").fetchone()
        return customers, persons, row[0] if row else 0

    def delete_customer(self, customer_id: int, max_customer_id: int) -> None:
        """Remove a customer's row and remember the highest id used."""
        with sqlite.transaction(self._conn):
            self._conn.execute("DELETE FROM customers WHERE id = ?", (customer_id,))
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('max_customer_id', ?)",
                (max_customer_id,),
            )

    def save(
        self,
        customers: list[tuple[int, bytes, str, str | None]],
        persons: list[tuple[int, bytes]],
    ) -> None:
        """Insert or replace rows in one transaction."""
        with sqlite.transaction(self._conn):
            self._conn.executemany(
                "INSERT OR REPLACE INTO customers (id, item, members, extra) VALUES (?, ?, ?, ?)",
                customers,
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO persons (id, item) VALUES (?, ?)", persons
            )


class Store:
    """Thread-safe customer store; all public methods take the lock."""

    def __init__(self, options: SandboxOptions, database: _Database | None = None) -> None:
        """An empty store under ``options``' readings, persisted to ``database`` if given."""
        self.lock = threading.RLock()
        self.options = options
        self._items: dict[int, bytes] = {}
        self._members: dict[int, tuple[int, ...]] = {}
        self._persons: dict[int, bytes] = {}
        self._extra: dict[int, list[dict[str, Any]]] = {}
        # New customers get ids above the highest id ever used (deleted ones included),
        # so this list stays sorted by appending.
        self._ids: list[int] = []
        self._max_customer_id = 0
        self._max_person_id = 0
        # Bumped whenever the id set changes; identifies the set a shuffled order is of.
        self._id_version = 0
        self._shuffled: tuple[tuple[int, int], dict[int | None, list[int]]] | None = None
        # Built on the first POST: merge key -> customer id (a list when several share
        # it). Entries may go stale after edits; lookups confirm against current data.
        self._merge_index: dict[MergeKey, int | list[int]] | None = None
        self._db = database

    @classmethod
    def open(cls, options: SandboxOptions) -> Store:
        """An empty store, persisted to the SQLite file ``options.db`` names (if any)."""
        return cls(options, _Database.open(options.db) if options.db else None)

    # ----------------------------------------------------------------- setup

    def load_or_seed(self, count: int, seed_value: int) -> bool:
        """Load the SQLite file if it has data, else generate ``count`` customers.

        Returns True when existing data was loaded.
        """
        with self.lock:
            if self._db is not None:
                customers, persons, max_customer_id = self._db.load()
                if customers:
                    for pid, item in persons:
                        self._persons[pid] = bytes(item)
                    self._max_person_id = max(self._persons, default=0)
                    for cid, item, members, extra in customers:
                        self._items[cid] = bytes(item)
                        self._members[cid] = tuple(json.loads(members))
                        if extra:
                            self._extra[cid] = json.loads(extra)
                        self._ids.append(cid)
                    self._max_customer_id = max(self._ids[-1], max_customer_id)
                    return True
            self._add_batch(seed.generate(count, seed_value, 17, 5))
            return False

    def add_generated(self, count: int, seed_value: int) -> list[int]:
        """Generate ``count`` more customers with ids above the current maximum."""
        with self.lock:
            start = seed.next_start(self._max_customer_id, seed_value)
            person_start = seed.next_start(self._max_person_id, seed_value)
            batch = seed.generate(count, seed_value, start, person_start)
            self._add_batch(batch)
            return batch.customer_ids

    def _add_batch(self, batch: seed.Batch) -> None:
        self._items.update(zip(batch.customer_ids, batch.customer_items, strict=True))
        self._members.update(zip(batch.customer_ids, batch.members, strict=True))
        self._persons.update(zip(batch.person_ids, batch.person_items, strict=True))
        self._ids.extend(batch.customer_ids)
        self._id_version += 1
        if batch.customer_ids:
            self._max_customer_id = max(self._max_customer_id, batch.customer_ids[-1])
        if batch.person_ids:
            self._max_person_id = max(self._max_person_id, batch.person_ids[-1])
        if self._merge_index is not None:
            for cid in batch.customer_ids:
                self._index(cid)
        if self._db is not None:
            self._db.save(
                [
                    (cid, item, json.dumps(members), None)
                    for cid, item, members in zip(
                        batch.customer_ids, batch.customer_items, batch.members, strict=True
                    )
                ],
                list(zip(batch.person_ids, batch.person_items, strict=True)),
            )

    def close(self) -> None:
        """Close the SQLite file, if any."""
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ----------------------------------------------------------------- reads

    def counts(self) -> tuple[int, int]:
        """Number of customers and of contact persons."""
        with self.lock:
            return len(self._items), len(self._persons)

    def list_items(
        self,
        min_id: int | None,
        shuffle_seed: int | None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[bytes]]:
        """Cached list items with id >= ``min_id``, by id or shuffled under a seed.

        Returns the number of matching customers and the items of the slice
        ``[offset:offset + limit]`` (all when ``limit`` is None); only the slice is
        materialised, so paging through a million customers stays cheap per page.
        Under the ``list_persons`` reading the items carry ``contactpersonen``.
        """
        with self.lock:
            if shuffle_seed is None:
                start = 0 if min_id is None else bisect.bisect_left(self._ids, min_id)
                total = len(self._ids) - start
                first = start + offset
                ids = self._ids[first : None if limit is None else first + limit]
            else:
                order = self._shuffled_ids(shuffle_seed, min_id)
                total = len(order)
                ids = order[offset : None if limit is None else offset + limit]
            if self.options.list_persons:
                return total, [self._detail(i) for i in ids]
            items = self._items
            return total, [items[i] for i in ids]

    def _shuffled_ids(self, shuffle_seed: int, min_id: int | None) -> list[int]:
        # The order stays stable between page requests until a customer is added or
        # deleted. Filtered orders of recent ``id>`` values are cached for paging.
        version = (self._id_version, shuffle_seed)
        cached = self._shuffled
        if cached is None or cached[0] != version:
            order = list(self._ids)
            random.Random(f"shuffle:{shuffle_seed}").shuffle(order)  # noqa: S311 - not crypto
            cached = self._shuffled = (version, {None: order})
        orders = cached[1]
        if min_id not in orders:
            if len(orders) > 8:
                for key in [k for k in orders if k is not None]:
                    del orders[key]
            orders[min_id] = [i for i in orders[None] if i >= min_id]  # type: ignore[operator]
        return orders[min_id]

    def summaries(self) -> list[tuple[int, int, str]]:
        """Id, company (``bedrijf_id``) and display name of every customer, by id: what a
        booking, an invoice and a payment's ``klant`` name."""
        with self.lock:
            return [self._summary(cid) for cid in self._ids]

    def summary(self, customer_id: int) -> tuple[int, int, str] | None:
        """The :meth:`summaries` entry of one customer, or None."""
        with self.lock:
            return self._summary(customer_id) if customer_id in self._items else None

    def _summary(self, cid: int) -> tuple[int, int, str]:
        # Read from the cached JSON: parsing 100,000 customers would cost a second.
        item = self._items[cid]
        company = _COMPANY_RE.search(item)
        bedrijf_id = int(company.group(1)) if company else model.DEFAULT_COMPANY_ID
        return cid, bedrijf_id, _string_after(item, _DISPLAY_MARK) or ""

    def item(self, customer_id: int) -> bytes | None:
        """The list-item JSON of one customer (the POST/PUT response shape)."""
        with self.lock:
            return self._items.get(customer_id)

    def detail(self, customer_id: int) -> bytes | None:
        """The detail JSON of one customer, with its contact persons."""
        with self.lock:
            if customer_id not in self._items:
                return None
            return self._detail(customer_id)

    def dump(self) -> Iterator[bytes]:
        """Every customer in detail shape plus ``extra_fields``, sorted by id."""
        with self.lock:
            ids = list(self._ids)
        for cid in ids:
            with self.lock:
                if cid not in self._items:  # deleted while the dump was being built
                    continue
                detail = self._detail(cid)
                extra = model.dumps(self._extra.get(cid, []))
            yield detail[:-1] + b',"extra_fields":' + extra + b"}"

    def _detail(self, cid: int) -> bytes:
        """The detail JSON of an existing customer; the caller holds the lock."""
        return model.render_detail(self._items[cid], [self._persons[p] for p in self._members[cid]])

    # ----------------------------------------------------------------- writes

    def create_or_merge(self, data: CustomerInput) -> tuple[bool, int, bytes]:
        """POST: returns (created, customer id, response body).

        Under the ``name-email`` reading it merges into an existing customer when the
        name and the main contact's e-mail (case-insensitively) are equal, as Recras is
        reported to do; under ``never`` it always creates.
        """
        assert data.persons is not None  # validation requires contactpersonen on POST
        with self.lock:
            self._check_links(data.persons)
            if self.options.merge == "name-email":
                existing = self._find_merge_target(data)
                if existing is not None:
                    self._merge(existing, data)
                    return False, existing, self._items[existing]
            cid = self._max_customer_id + 1
            customer: dict[str, Any] = dict.fromkeys(model.CUSTOMER_KEYS)
            customer.update(
                id=cid,
                type="klant",
                bedrijf_id=model.DEFAULT_COMPANY_ID,
                landcode="NL",
                mag_type_wijzigen=True,
                _links=model.customer_links(cid),
            )
            self._apply_fields(customer, data.fields)
            members, changed = self._resolve_persons(data.persons)
            self._ids.append(cid)
            self._id_version += 1
            self._max_customer_id = cid
            self._write(cid, customer, members, changed, data.extra_fields, replace_extra=True)
            return True, cid, self._items[cid]

    def update(self, customer_id: int, data: CustomerInput) -> bytes | None:
        """PUT: returns the response body, or None when the customer does not exist."""
        with self.lock:
            item = self._items.get(customer_id)
            if item is None:
                return None
            if data.persons is not None:
                self._check_links(data.persons)
            customer = json.loads(item)
            self._apply_fields(customer, data.fields)
            members = self._members[customer_id]
            changed: dict[int, dict[str, Any]] = {}
            if data.persons is not None:
                members, changed = self._resolve_persons(data.persons)
            replace_extra = self.options.put_extra_fields == "replace"
            self._write(
                customer_id,
                customer,
                members,
                changed,
                data.extra_fields,
                replace_extra=replace_extra,
            )
            return self._items[customer_id]

    def delete(self, customer_id: int) -> list[int] | None:
        """Delete a customer (admin only: the API has no DELETE); its persons are unlinked.

        Returns the ids of the persons it listed (they still exist, and stay linked to
        any other customer), or None when the customer does not exist.
        """
        with self.lock:
            if customer_id not in self._items:
                return None
            del self._items[customer_id]
            members = self._members.pop(customer_id)
            self._extra.pop(customer_id, None)
            del self._ids[bisect.bisect_left(self._ids, customer_id)]
            self._id_version += 1
            if self._db is not None:
                self._db.delete_customer(customer_id, self._max_customer_id)
            return list(members)

    # ----------------------------------------------------------------- internals

    def _check_links(self, persons: list[PersonInput]) -> None:
        for i, person in enumerate(persons):
            if person.id is not None and person.id not in self._persons:
                raise ValidationError(
                    f"Field contactpersonen[{i}].id: contact person {person.id} does not exist"
                )

    @staticmethod
    def _apply_fields(customer: dict[str, Any], fields: dict[str, Any]) -> None:
        customer.update(fields)
        if customer.get("bedrijf_id") is None:
            # "the default company is entered if this field is left empty"
            customer["bedrijf_id"] = model.DEFAULT_COMPANY_ID

    def _person(self, person_id: int) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._persons[person_id])
        return result

    def _resolve_persons(
        self, persons: list[PersonInput]
    ) -> tuple[tuple[int, ...], dict[int, dict[str, Any]]]:
        """Turn input items into member ids (main first) plus the persons to (re)write.

        Items with ``id`` keep that person and apply any fields sent with it (unless
        the ``linked_person_fields`` reading is ``ignore``); items without ``id`` become
        new persons.
        """
        changed: dict[int, dict[str, Any]] = {}
        ids: list[int] = []
        main_id = 0
        for person in persons:
            if person.id is None:
                pid = self._new_person(person.fields, changed)
            else:
                pid = person.id
                if person.fields and self._applies_linked_fields:
                    self._update_person(pid, person.fields, changed)
            ids.append(pid)
            if person.hoofdcontact:
                main_id = pid
        ids.remove(main_id)
        return (main_id, *ids), changed

    @property
    def _applies_linked_fields(self) -> bool:
        return self.options.linked_person_fields == "apply"

    def _new_person(self, fields: dict[str, Any], changed: dict[int, dict[str, Any]]) -> int:
        """Allocate a new contact person (recorded in ``changed``); returns its id."""
        self._max_person_id += 1
        pid = self._max_person_id
        record: dict[str, Any] = {"id": pid, **dict.fromkeys(model.PERSON_STRING_FIELDS)}
        record.update(fields)
        if record["geslacht"] is None:
            record["geslacht"] = "onbekend"
        changed[pid] = record
        return pid

    def _update_person(
        self, pid: int, fields: dict[str, Any], changed: dict[int, dict[str, Any]]
    ) -> None:
        """Apply ``fields`` to an existing person (recorded in ``changed``)."""
        record = changed.get(pid) or self._person(pid)
        record.update(fields)
        if record.get("geslacht") is None:
            record["geslacht"] = "onbekend"
        changed[pid] = record

    def _write(
        self,
        cid: int,
        customer: dict[str, Any],
        members: tuple[int, ...],
        changed_persons: dict[int, dict[str, Any]],
        extra_fields: list[dict[str, Any]] | None,
        *,
        replace_extra: bool = False,
    ) -> None:
        """Store a customer and its changed persons; re-serialize only what changed."""
        email_changed = []
        for pid, record in changed_persons.items():
            old = self._persons.get(pid)
            self._persons[pid] = model.dumps(record)
            if old is not None and _string_after(old, _EMAIL_MARK) != record.get("email1"):
                email_changed.append(pid)
        main = changed_persons.get(members[0]) or self._person(members[0])
        customer["displaynaam"] = model.displaynaam(customer.get("naam"), main)
        self._items[cid] = model.dumps(model.ordered_customer(customer))
        self._members[cid] = members
        if extra_fields is not None:
            merged = {} if replace_extra else {f["name"]: f for f in self._extra.get(cid, [])}
            merged.update((f["name"], f) for f in extra_fields)
            self._extra[cid] = list(merged.values())
        if self._merge_index is not None:
            self._index(cid)
            if email_changed:
                # Rare: a person's e-mail changed; customers it heads get a new key.
                # Seeded data keeps no person -> customer map, hence the scan.
                heads = set(email_changed)
                for other, other_members in self._members.items():
                    if other_members[0] in heads:
                        self._index(other)
        if self._db is not None:
            extra = self._extra.get(cid)
            self._db.save(
                [
                    (
                        cid,
                        self._items[cid],
                        json.dumps(members),
                        json.dumps(extra) if extra else None,
                    )
                ],
                [(pid, self._persons[pid]) for pid in changed_persons],
            )

    # ----------------------------------------------------------------- merging

    def _key_of(self, cid: int) -> MergeKey | None:
        # Reads the two strings straight from the cached JSON: building the index for a
        # million customers with json.loads would take many seconds.
        naam = _string_after(self._items[cid], _NAAM_MARK)
        email = _string_after(self._persons[self._members[cid][0]], _EMAIL_MARK)
        return _merge_key(naam, email)

    def _index(self, cid: int) -> None:
        index = self._merge_index
        assert index is not None
        key = self._key_of(cid)
        if key is None:
            return
        current = index.get(key)
        if current is None:
            index[key] = cid
        elif isinstance(current, int):
            if current != cid:
                index[key] = [current, cid]
        elif cid not in current:
            current.append(cid)

    def _find_merge_target(self, data: CustomerInput) -> int | None:
        assert data.persons is not None
        main = next(p for p in data.persons if p.hoofdcontact)
        email = main.fields.get("email1")
        if main.id is not None and "email1" not in main.fields:
            email = self._person(main.id).get("email1")
        key = _merge_key(data.fields.get("naam"), email)
        if key is None:
            return None
        if self._merge_index is None:
            self._merge_index = {}
            for cid in self._ids:
                self._index(cid)
        found = self._merge_index.get(key)
        candidates = [] if found is None else [found] if isinstance(found, int) else found
        # Entries can be stale after edits; confirm against the current data.
        for cid in sorted(candidates):
            if cid in self._items and self._key_of(cid) == key:
                return cid
        return None

    def _merge(self, cid: int, data: CustomerInput) -> None:
        """Fold a POST body into customer ``cid`` (see docs/sandbox.md, merge semantics).

        Non-null fields overwrite; linked persons are added; a new person whose e-mail
        matches a person of the customer updates that person, otherwise it is added;
        the person the input names as main contact becomes the main contact.
        """
        assert data.persons is not None
        customer = json.loads(self._items[cid])
        self._apply_fields(customer, {k: v for k, v in data.fields.items() if v is not None})
        members = list(self._members[cid])
        by_email: dict[str, int] = {}
        for pid in members:
            email = self._person(pid).get("email1")
            if isinstance(email, str) and email.strip():
                by_email.setdefault(email.strip().lower(), pid)
        changed: dict[int, dict[str, Any]] = {}
        main_id = members[0]
        for person in data.persons:
            updates = {k: v for k, v in person.fields.items() if v is not None}
            if person.id is not None and not self._applies_linked_fields:
                updates = {}
            found = person.id
            if found is None:
                email = person.fields.get("email1")
                found = by_email.get(email.strip().lower()) if email else None
                if found is not None:
                    # The e-mail matched; keep the stored spelling of it.
                    updates.pop("email1", None)
            if found is None:
                pid = self._new_person(person.fields, changed)
            else:
                pid = found
                if updates:
                    self._update_person(pid, updates, changed)
            if pid not in members:
                members.append(pid)
            if person.hoofdcontact:
                main_id = pid
        members.remove(main_id)
        self._write(cid, customer, (main_id, *members), changed, data.extra_fields)


def _merge_key(naam: object, email: object) -> MergeKey | None:
    """Name (exact) plus main e-mail (trimmed, case-insensitive); None if either is empty."""
    if not isinstance(naam, str) or not naam or not isinstance(email, str) or not email.strip():
        return None
    return f"{naam}\x00{email.strip().lower()}"


def _string_after(item: bytes, mark: str) -> str | None:
    """The JSON string value following ``mark`` in compact ASCII JSON; None for null.

    Safe because a quote inside a JSON string is escaped, so ``,"naam":`` cannot occur
    inside a value.
    """
    text = item.decode("ascii")
    pos = text.find(mark)
    if pos < 0:
        return None
    pos += len(mark)
    if text.startswith('"', pos):
        return scanstring(text, pos + 1)[0]
    return None
