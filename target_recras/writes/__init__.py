"""The write rules: what a record becomes in Recras, and which customer it is.

:mod:`.matching` finds a record's customer (id, source key, name plus main contact) and its
lane, :mod:`.payload` builds the request bodies, :mod:`.digest` says when a record is unchanged,
:mod:`.jobs` carries one record's write through a run, and :mod:`.recovery` finds the customer a
create made when its answer was lost. Rules only: the run that applies them is
:mod:`target_recras.run`.
"""

from target_recras.writes.jobs import UpsertJob
from target_recras.writes.matching import (
    customer_identity,
    natural_map_key,
    record_klant_id,
    source_key_problem,
    source_map_key,
)
from target_recras.writes.payload import (
    RESERVED_FIELDS,
    UnsentFields,
    build_body,
    carries_person_changes,
    link_existing_persons,
    merge_extra_fields,
    unsent_person_fields,
)
from target_recras.writes.recovery import (
    find_created,
    highest_customer_id,
    resolve_pending_creates,
    unclaimed,
)

__all__ = [
    "RESERVED_FIELDS",
    "UnsentFields",
    "UpsertJob",
    "build_body",
    "carries_person_changes",
    "customer_identity",
    "find_created",
    "highest_customer_id",
    "link_existing_persons",
    "merge_extra_fields",
    "natural_map_key",
    "record_klant_id",
    "resolve_pending_creates",
    "source_key_problem",
    "source_map_key",
    "unclaimed",
    "unsent_person_fields",
]
