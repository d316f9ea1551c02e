"""The rows of one resource: :class:`Table`.

A row is kept as the bytes the API sends for it (rendered once, under the ``money`` reading)
plus the few values its endpoint filters on, so a list is a join of cached bytes and a
filter never parses JSON. New rows get ids above every id the table ever had, so the sorted
id list grows by appending.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from recras_sandbox.model import dumps
from recras_sandbox.resources import money

#: Decides from a row's filter values whether a list keeps it.
Keep = Callable[[tuple[Any, ...]], bool]
#: Filtered selections a table remembers (a few clients paging at once).
_SELECTIONS_KEPT = 16
#: A row as a table keeps it: its id, the bytes the API sends, its filter values.
Record = tuple[int, bytes, tuple[Any, ...]]


class IdsView:
    """A table's ids from one on, in order, without copying them: a page slices only itself.

    Read under the ledger's lock; a write between two reads may shift the view by the rows
    it added or deleted, as it would shift the pages of a real paged list.
    """

    def __init__(self, ids: list[int], start: int) -> None:
        self._ids = ids
        self._start = start

    def __len__(self) -> int:
        return len(self._ids) - self._start

    def __getitem__(self, window: slice) -> list[int]:
        first = self._start + (window.start or 0)
        stop = None if window.stop is None else self._start + window.stop
        return self._ids[first:stop]


class Table:
    """Rows of one resource by id; not thread-safe (the ledger's lock guards it)."""

    def __init__(self, name: str, columns: tuple[str, ...], money_reading: str) -> None:
        """An empty table whose rows are filtered on ``columns`` (fields of the row)."""
        self.name = name
        self.columns = columns
        self._money = money_reading
        self._ids: list[int] = []
        self._items: dict[int, bytes] = {}
        self._values: dict[int, tuple[Any, ...]] = {}
        #: The highest id the table ever held (deleted rows included): never given out again.
        self.max_id = 0
        #: Bumped by every write; identifies the rows a cached selection was made of.
        self.version = 0
        # Filtered id lists by the filters that chose them, valid for one version.
        self._selections: dict[Hashable, list[int]] = {}
        self._selections_version = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, row_id: int) -> bool:
        return row_id in self._items

    def record(self, row: dict[str, Any], canonical: bytes | None = None) -> Record:
        """A row (amounts as decimal strings, serialized as ``canonical`` if given) as the
        table keeps it: id, the bytes the API sends, filter values."""
        rendered = money.render(dumps(row) if canonical is None else canonical, self._money)
        return row["id"], rendered, tuple(row[name] for name in self.columns)

    def put(self, row_id: int, item: bytes, values: tuple[Any, ...]) -> None:
        """Insert or replace one row as the API sends it, with its filter values."""
        self.version += 1
        if row_id not in self._items:
            if row_id > self.max_id:
                self._ids.append(row_id)
            else:
                bisect.insort(self._ids, row_id)
            self.max_id = max(self.max_id, row_id)
        self._items[row_id] = item
        self._values[row_id] = values

    def put_all(self, records: list[Record]) -> None:
        """Insert or replace records; new ids above every id, in ascending order (a generated
        batch) are appended in one go."""
        if not records:
            return
        ids = [record[0] for record in records]
        if ids[0] > self.max_id and all(a < b for a, b in itertools.pairwise(ids)):
            self.version += 1
            self._ids.extend(ids)
            self.max_id = ids[-1]
            self._items.update((row_id, item) for row_id, item, _values in records)
            self._values.update((row_id, values) for row_id, _item, values in records)
            return
        for row_id, item, values in records:
            self.put(row_id, item, values)

    def delete(self, row_id: int) -> bool:
        """Remove a row; False when it does not exist."""
        if self._items.pop(row_id, None) is None:
            return False
        self.version += 1
        del self._values[row_id]
        del self._ids[bisect.bisect_left(self._ids, row_id)]
        return True

    def item(self, row_id: int) -> bytes | None:
        """The row as the API sends it, or None."""
        return self._items.get(row_id)

    def row(self, row_id: int) -> dict[str, Any]:
        """An existing row as a dict, amounts as decimal strings (for a write to change)."""
        result: dict[str, Any] = json.loads(self.canonical(row_id))
        return result

    def canonical(self, row_id: int) -> bytes:
        """An existing row's bytes with amounts as decimal strings (what is persisted)."""
        return money.canonical(self._items[row_id], self._money)

    def values(self, row_id: int) -> tuple[Any, ...]:
        """The filter values of an existing row, in the order of ``columns``."""
        return self._values[row_id]

    def value(self, row_id: int, column: str) -> Any:
        """One filter value of an existing row."""
        return self._values[row_id][self.columns.index(column)]

    def ids(self, keep: Keep | None = None, min_id: int | None = None) -> list[int]:
        """Ids in ascending order, from ``min_id`` on, of the rows ``keep`` accepts."""
        start = 0 if min_id is None else bisect.bisect_left(self._ids, min_id)
        ids = self._ids[start:]
        if keep is None:
            return ids
        values = self._values
        return [i for i in ids if keep(values[i])]

    def view(self, min_id: int | None = None) -> IdsView:
        """The ids from ``min_id`` on (all when None), ascending, as a view."""
        return IdsView(self._ids, 0 if min_id is None else bisect.bisect_left(self._ids, min_id))

    def selected(self, key: Hashable, select: Callable[[], list[int]]) -> list[int]:
        """The ids ``select`` gives, remembered under ``key`` until the table changes: the
        pages of one filtered list are selected once, not once a page. Never mutate them."""
        if self._selections_version != self.version:
            self._selections.clear()
            self._selections_version = self.version
        ids = self._selections.get(key)
        if ids is None:
            if len(self._selections) >= _SELECTIONS_KEPT:
                self._selections.clear()
            ids = self._selections[key] = select()
        return ids

    def items(self, ids: Iterable[int]) -> list[bytes]:
        """The API's bytes of existing rows."""
        items = self._items
        return [items[i] for i in ids]
