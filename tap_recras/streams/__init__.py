"""The tap's streams: one small declaration each on the shared base (:mod:`.base`)."""

from tap_recras.inputs import BookmarkKind, DateBookmark, IdBookmark
from tap_recras.streams.base import ChildStream, ListedStream, RecrasStream
from tap_recras.streams.boekingen import BoekingenStream, BoekingsregelsStream
from tap_recras.streams.facturen import BetalingenStream, FacturenStream, FactuurregelsStream
from tap_recras.streams.klanten import ContactpersonenStream, KlantenStream
from tap_recras.streams.reference import (
    ArrangementenStream,
    BedrijvenStream,
    BetaalmethodenStream,
    ContactformulierenStream,
    DienstenStream,
    LocatiesStream,
    ProductenStream,
    ProductgroepenStream,
    VoucherTemplatesStream,
)

#: Every stream, parents before their children, in the order the tap discovers them.
STREAM_TYPES: tuple[type[RecrasStream], ...] = (
    KlantenStream,
    ContactpersonenStream,
    BoekingenStream,
    BoekingsregelsStream,
    FacturenStream,
    BetalingenStream,
    FactuurregelsStream,
    ProductenStream,
    ProductgroepenStream,
    ArrangementenStream,
    LocatiesStream,
    BetaalmethodenStream,
    BedrijvenStream,
    ContactformulierenStream,
    VoucherTemplatesStream,
    DienstenStream,
)

#: The child streams, whose state is one entry (no partitions per parent record).
CHILD_STREAM_NAMES = (
    ContactpersonenStream.name,
    BoekingsregelsStream.name,
    BetalingenStream.name,
)

#: What each bookmarked stream's state entry holds (checked before a run: inputs.check_state).
BOOKMARKS: dict[str, BookmarkKind] = {
    KlantenStream.name: IdBookmark("customer"),
    BoekingenStream.name: IdBookmark("booking"),
    FacturenStream.name: DateBookmark(FacturenStream.replication_key),
    FactuurregelsStream.name: DateBookmark(FactuurregelsStream.bookmark_key),
}

__all__ = [
    "BOOKMARKS",
    "CHILD_STREAM_NAMES",
    "STREAM_TYPES",
    "ChildStream",
    "ContactpersonenStream",
    "KlantenStream",
    "ListedStream",
    "RecrasStream",
]
