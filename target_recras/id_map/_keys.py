"""The kinds of key an id map row has."""

from __future__ import annotations

from enum import StrEnum


class KeyKind(StrEnum):
    """What a map key is made of; the value is its prefix and its id map row's ``kind``."""

    #: The stream's key properties: kept for good, the next run updates that customer.
    SOURCE = "source"
    #: Name plus main contact of a keyless record: kept until a STATE covers the record.
    NATURAL = "natural"
