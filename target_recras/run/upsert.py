"""Writing one record to Recras: the upsert rules (docs/target.md, "Upsert rules").

1. The record has ``id``: ``PUT /api2/klanten/<id>``. A 404 rejects the record: it names a
   customer that no longer exists, and creating a new one would not give it that id.
2. Else the record has a map key (its source key, or for keyless records its identity while a
   crash could replay it): an id found in the id map is updated with ``PUT``; a 404 there
   means the customer was deleted in Recras, so the stale entry is dropped and the customer
   created again (counted as *recreated*, with a warning). A keyless update first renews the
   entry: it is kept until a STATE covers this record, which a rerun could replay.
3. Otherwise ``POST``; the id from the answer (201 created, 200 merged) goes into the id map.
   A record without what ``POST`` needs (``contactpersonen``) is rejected instead: only an
   update may leave fields out, and its ``PUT`` carries only the fields the record has.

A ``PUT`` with new contact persons first reads the customer (one ``GET``) and links persons
that already exist by ``id``, because ``PUT`` replaces the contact list. Contact persons or
extra fields that are those last written to the customer and confirmed (the id map's digest
says so, :func:`~target_recras.writes.digest.write_digest`) are left out of the ``PUT``, which
leaves them as they are: one request writes a change to the other fields. Fields of a linked
person are never sent (``/klanten`` documents no way to change one); each one Recras does not
already have is warned about by name and counted. ``extra_fields: []`` is never sent, and
where Recras shows the current extra fields the merged list is sent (a ``PUT`` may replace
the list). Merges are logged, and a customer written by two source keys is warned about.

A ``POST`` that failed in a way Recras may have processed (dropped connection, timeout, 5xx)
is only retried after :func:`~target_recras.writes.recovery.find_created` found no such customer
above the highest id Recras had before the ``POST`` was sent (looked up once per run, before
its first ``POST``, then kept current from the answers). A customer found there is where the
record goes, unless another create or source key already has it (records may share a name
and main contact): it is sent to it with ``PUT`` (the lost ``POST`` may have merged, or another
writer may have made it), and counts as *created* because it cannot have existed before.

A record with a source key whose payload is the one last written to its customer and
confirmed (the id map keeps its :func:`~target_recras.writes.digest.payload_digest`) is skipped
without any request and counted *unchanged* (setting ``skip_unchanged``). A write of other
data first drops the stored digest (and any write to a customer the digests of the other keys
naming it), and only a confirmed write stores the new one; a ``POST`` that Recras merged (200)
stores none, since what the merge kept is not known.

Answers that cannot be right stop the run: a ``POST`` answered without a customer id, with an
id below 1, or a 201 with an id that another create of this run was already given. The
creates concerned stay *pending* in the id map, so the rerun looks them up in Recras.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from recras_api import (
    UNPROCESSED_FAILURES,
    RecrasClient,
    RecrasHTTPError,
    RecrasInputRejectedError,
    RecrasInvalidResponseError,
    RecrasNotFoundError,
    WriteResult,
)
from recras_api.capped_log import CappedLog
from target_recras.id_map import IdMap, KeyKind
from target_recras.input import Problem, create_problem
from target_recras.run import report
from target_recras.run.checkpoints import Checkpoints
from target_recras.run.rejects import RejectsFile
from target_recras.run.report import Note, Outcome
from target_recras.writes import (
    UnsentFields,
    UpsertJob,
    build_body,
    carries_person_changes,
    find_created,
    highest_customer_id,
    link_existing_persons,
    merge_extra_fields,
    unclaimed,
    unsent_person_fields,
)

#: Recras (and the sandbox) name the field at the start of a 406 message.
_FIELD_IN_MESSAGE = re.compile(r"\b[Ff]ield:? ([\w.\[\]]+)")


class _RejectError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class _AlreadyCreatedError(Exception):
    """A failed POST did create the customer: stop retrying it."""

    def __init__(self, klant_id: int) -> None:
        super().__init__(klant_id)
        self.klant_id = klant_id


class Upserter:
    """Applies :class:`UpsertJob` objects; called on the writer threads."""

    def __init__(
        self,
        *,
        client: RecrasClient,
        id_map: IdMap,
        rejects: RejectsFile,
        stats: report.RunStats,
        checkpoints: Checkpoints,
        logger: logging.Logger,
        skip_unchanged: bool = True,
    ) -> None:
        self.client = client
        self.skip_unchanged = skip_unchanged
        self.id_map = id_map
        self.rejects = rejects
        self.stats = stats
        self.checkpoints = checkpoints
        self.logger = logger
        # Lines about single records: a problem that every record shares is logged a few times.
        self._lines = CappedLog(logger)
        # Highest customer id known to exist, looked up in Recras before the run's first POST
        # (None until then) and raised by every answer since: ids are handed out in order,
        # so a POST sent now can only create a customer with a higher id.
        self._highest_id: int | None = None
        # New ids answered with 201 in this run (or found after a lost answer), with the
        # create that got each.
        self._created: dict[int, UpsertJob] = {}
        # Guards the two above: the new ids Recras hands out, as this run knows them.
        self._new_ids_lock = threading.Lock()
        # The first source key written to each customer in this run, and the customers
        # written by more than one.
        self._source_of: dict[int, str] = {}
        self._shared: set[int] = set()
        # Guards the two above.
        self._sources_lock = threading.Lock()
        # Map keys whose create failed in a way Recras may have processed and got no answer
        # since (a refusal of the retry, the look-up or the PUT after it), with the create's
        # identity (name plus main contact). The entry stays pending for the rerun, so a
        # later record of the key must not POST again; and the lost POST may have merged
        # into any customer with that identity, so no record with it is skipped as unchanged.
        self._left_pending: dict[str, str] = {}
        # Guards it: lanes add and remove entries.
        self._left_pending_lock = threading.Lock()
        # Does GET /api2/klanten/<id> show extra_fields? None until a detail was read.
        self._details_show_extra_fields: bool | None = None

    def write(self, job: UpsertJob) -> None:
        """Write or reject one record. Errors that must stop the run propagate."""
        try:
            outcome = self._apply(job)
        except _RejectError as rejected:
            self._reject(job, rejected.problem)
        except RecrasInputRejectedError as exc:
            match = _FIELD_IN_MESSAGE.search(exc.message)
            problem = Problem(
                f"Recras refused the record (406): {exc.message}",
                match.group(1) if match else None,
            )
            self._reject(job, problem)
        except RecrasHTTPError as exc:
            if exc.status is None or exc.status >= 500:
                raise
            self._reject(job, Problem(f"Recras refused the record: {exc.message}", None))
        else:
            self.stats.count(outcome)
            self.checkpoints.finish(job.seq)

    def _reject(self, job: UpsertJob, problem: Problem) -> None:
        self.stats.count(Outcome.REJECTED)
        self.rejects.reject(
            problem,
            stream=job.stream,
            record=job.record,
            input_line=job.input_line,
            klant_id=job.klant_id,
        )
        # Only a reject that is on disk lets a later STATE out.
        self.checkpoints.finish(job.seq)

    def _apply(self, job: UpsertJob) -> Outcome:
        # Built here rather than on the main thread, which only validates and plans.
        body = build_body(job.record)
        digest = job.digest(body)
        if self.skip_unchanged and job.unchanged(self.id_map, digest) and not self._unsettled(job):
            return Outcome.UNCHANGED
        # Trusted as far as unchanged records are (a lost POST may have merged other lists
        # into the customer); noted before before_write drops the digest.
        if self.skip_unchanged and not self._unsettled(job):
            job.note_written_lists(self.id_map, digest)
        if job.map_key is not None:
            self.id_map.before_write(job.map_key, digest)
        if job.klant_id is not None:
            return self._update_named_customer(job, job.klant_id, body, digest)
        return self._upsert_by_map_key(job, body, digest)

    def _update_named_customer(
        self, job: UpsertJob, klant_id: int, body: dict[str, Any], digest: str | None
    ) -> Outcome:
        """Rule 1: the record names its customer by ``id``."""
        try:
            unsent = self._put(job, klant_id, body)
        except RecrasNotFoundError as exc:
            msg = (
                f"customer {klant_id} does not exist in Recras (deleted?); the record "
                "names it by id, so it is not created again"
            )
            raise _RejectError(Problem(msg, "id")) from exc
        if job.map_key is not None and job.kind is not None:
            identity = job.customer_identity()
            self.id_map.store(job.map_key, job.kind, identity, klant_id, job.seq, digest=digest)
        self._written(job, klant_id, unsent)
        return Outcome.UPDATED

    def _upsert_by_map_key(
        self, job: UpsertJob, body: dict[str, Any], digest: str | None
    ) -> Outcome:
        """Rules 2 and 3: update the customer the id map names, else create it."""
        assert job.map_key is not None and job.kind is not None  # set for records without id
        outcome = Outcome.CREATED
        if job.kind == KeyKind.NATURAL:  # an update keeps the entry till a STATE covers it
            known = self.id_map.lookup_renewing(job.map_key, job.seq)
        else:
            known = self.id_map.lookup(job.map_key)
        if known is not None:
            try:
                unsent = self._put(job, known, body)
            except RecrasNotFoundError:
                self._lines.warning(
                    "Customer %d (id map entry %s) no longer exists in Recras; creating it "
                    "again (input line %s).",
                    known,
                    job.map_key,
                    job.input_line,
                )
                outcome = Outcome.RECREATED
            else:
                self.id_map.confirm(job.map_key, digest)
                self._written(job, known, unsent)
                return Outcome.UPDATED
        if job.map_key in self._left_pending:
            reason = (
                "an earlier record of this customer (its source key, or keyless its name and main "
                "contact) was sent in a POST that Recras may have "
                "processed, and its create was left pending; this record is not sent, so that "
                "no second customer is made: the rerun looks that create up in Recras"
            )
            raise _RejectError(Problem(reason, None))
        # Decided here, not when the record was read: an earlier record of this lane may
        # have created the customer since, making this one an update.
        problem = create_problem(job.record)
        if problem is not None:
            if outcome == Outcome.RECREATED:
                self.id_map.forget(job.map_key)
                reason = f"customer {known} no longer exists in Recras, so it would be created; "
                problem = Problem(reason + problem.reason, problem.field_path)
            raise _RejectError(problem)
        identity = job.customer_identity()
        floor = job.floor = self._highest_before_post()
        self.id_map.begin_create(job.map_key, job.kind, identity, job.seq, floor)
        result, unsent = self._create(job, body, identity, floor)
        klant_id = self._trusted_new_id(job, result)
        # A merge (200) confirms the customer, not that it now holds exactly this payload.
        confirmed = digest if result.status == 201 else None
        self.id_map.store(job.map_key, job.kind, identity, klant_id, job.seq, digest=confirmed)
        if result.status != 201:
            self._lines.info(
                "Input line %s (%s) was merged into the existing customer %d (Recras answered %d).",
                job.input_line,
                job.map_key,
                klant_id,
                result.status,
            )
        self._written(job, klant_id, unsent)
        if outcome == Outcome.RECREATED:
            return outcome
        return Outcome.CREATED if result.status == 201 else Outcome.MERGED

    def _written(self, job: UpsertJob, klant_id: int, unsent: list[UnsentFields]) -> None:
        """After a write: report unsent person fields; warn when two source keys share an id."""
        self._report_unsent(job, unsent)
        if job.kind != KeyKind.SOURCE or job.map_key is None:
            return
        with self._sources_lock:
            other = self._source_of.setdefault(klant_id, job.map_key)
            first_time = other != job.map_key and klant_id not in self._shared
            if first_time:
                self._shared.add(klant_id)
        if other != job.map_key:
            self._lines.warning(
                "Input line %s: customer %d is already mapped to %s, and now also to %s (Recras "
                "merged them, or the records name one id); they overwrite each other on every "
                "run. Give them one source key, or keep them apart in Recras.",
                job.input_line,
                klant_id,
                other,
                job.map_key,
            )
            if first_time:
                self.stats.add(Note.SHARED_CUSTOMERS, 1)

    def _highest_before_post(self) -> int:
        """The highest customer id Recras has (as far as known) before a POST is sent."""
        with self._new_ids_lock:
            if self._highest_id is None:
                self._highest_id = highest_customer_id(self.client, 0)
            return self._highest_id

    def _create(
        self, job: UpsertJob, body: dict[str, Any], identity: str, floor: int
    ) -> tuple[WriteResult, list[UnsentFields]]:
        """POST, looking before every retry whether the failed attempt created the customer.

        Returns the answer and the record's contact person fields that were not sent.
        """

        map_key = job.map_key
        assert map_key is not None

        def look_before_retry(failure: str) -> None:
            if failure in UNPROCESSED_FAILURES:
                return
            # Recras may have processed that try: until an answer settles it, a refusal
            # leaves the entry pending.
            with self._left_pending_lock:
                self._left_pending[map_key] = identity
            candidates = find_created(self.client, [identity], above=floor).get(identity, [])
            with self._new_ids_lock:
                claimed = self.id_map.mapped_ids() | self._created.keys()
                found = unclaimed(candidates, claimed, floor)
                if found is not None:  # claimed at once: another lane's look-up skips it
                    self._created[found] = job
            if found is not None:
                raise _AlreadyCreatedError(found)

        try:
            result = self.client.create_klant(body, on_retry=look_before_retry)
        except _AlreadyCreatedError as created:
            # Above the floor, so it did not exist before this POST; whether the lost POST
            # made it or not, the record's data goes to it.
            self.logger.warning(
                "A failed POST for input line %s: customer %d with its name and main contact "
                "was created since; sending the record to it (PUT) instead of POSTing again.",
                job.input_line,
                created.klant_id,
            )
            unsent = self._put(job, created.klant_id, body)
            self._settled(map_key)
            return WriteResult(status=201, klant_id=created.klant_id), unsent
        except (RecrasInputRejectedError, RecrasHTTPError):
            # A refusal creates nothing, but says nothing of an earlier try that Recras may
            # have processed: then the entry stays pending, for the next run to look up.
            if map_key not in self._left_pending:
                self.id_map.forget(map_key)
            raise
        self._settled(map_key)
        persons = job.record.get("contactpersonen", [])
        return result, unsent_person_fields(persons, body.get("contactpersonen", []), None)

    def _unsettled(self, job: UpsertJob) -> bool:
        """Has the record the identity of a create whose lost POST may have merged?"""
        if not self._left_pending:
            return False
        identity = job.customer_identity()
        with self._left_pending_lock:
            return identity in self._left_pending.values()

    def _settled(self, map_key: str) -> None:
        """A create whose earlier try may have been processed got an answer after all."""
        with self._left_pending_lock:
            self._left_pending.pop(map_key, None)

    def _trusted_new_id(self, job: UpsertJob, result: WriteResult) -> int:
        """The customer id a POST answered, unless the answer cannot be right (stops the run)."""
        klant_id = result.klant_id
        if klant_id is None:
            problem = "without a customer id (no id in the body, no Location header)"
        elif klant_id < 1:
            problem = f"with customer id {klant_id}, which no Recras customer can have"
        else:
            with self._new_ids_lock:
                other = self._created.setdefault(klant_id, job) if result.status == 201 else job
                if other is job:
                    self._highest_id = max(self._highest_id or 0, klant_id)
                    return klant_id
            # Which of the two answers is wrong cannot be told: both are looked up again.
            assert other.map_key is not None and other.kind is not None
            self.id_map.begin_create(
                other.map_key, other.kind, other.customer_identity(), other.seq, other.floor
            )
            problem = (
                f"with customer id {klant_id}, the new id it already gave the create of input "
                f"line {other.input_line}; two new customers cannot share an id"
            )
        msg = (
            f"POST /api2/klanten for input line {job.input_line} answered {result.status} "
            f"{problem}. The answer cannot be trusted: the id map keeps the create pending, "
            "so the rerun looks it up in Recras instead of creating it again."
        )
        raise RecrasInvalidResponseError(msg, status=result.status)

    def _put(self, job: UpsertJob, klant_id: int, body: dict[str, Any]) -> list[UnsentFields]:
        """PUT ``body``; returns the record's contact person fields it could not carry.

        The customer is read first (one ``GET``) when the body lists new persons or linked
        persons with fields (``PUT`` replaces the contact list), or extra fields while
        Recras may show the current ones (a ``PUT`` may replace that list too).
        """
        record_persons = job.record.get("contactpersonen", [])
        kept = job.kept_lists(klant_id)
        if kept:
            # Recras holds them as last written: left out, they stay, and need no GET.
            body = {name: value for name, value in body.items() if name not in kept}
            if "contactpersonen" in kept:
                record_persons = []
        persons = body.get("contactpersonen", [])
        # [] sets nothing, so it is left out (a PUT that replaces the list would clear it).
        extra_fields = body.get("extra_fields")
        body = {name: value for name, value in body.items() if name != "extra_fields"}
        needs_persons = any("id" not in p for p in persons) or carries_person_changes(
            record_persons
        )
        detail = None
        if needs_persons or (extra_fields and self._details_show_extra_fields is not False):
            detail = self.client.get_klant(klant_id)
        existing = None
        if needs_persons:
            assert detail is not None
            existing = detail.get("contactpersonen") or []
            persons = link_existing_persons(persons, existing)
            body = {**body, "contactpersonen": persons}
        if extra_fields:
            body = {**body, "extra_fields": self._complete_extra_fields(extra_fields, detail)}
        self.id_map.outdate_others(klant_id, job.map_key)
        self.client.update_klant(klant_id, body)
        return unsent_person_fields(record_persons, persons, existing)

    def _complete_extra_fields(
        self, extra_fields: list[dict[str, Any]], detail: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """The customer's extra fields with the record's set by name, when Recras shows them.

        Whether a ``PUT`` merges the list by name or replaces it is not documented; sending
        the whole merged list is right under both readings. The documented detail shows no
        extra fields, though: then only the record's are sent (said once per run).
        """
        current = None if detail is None else detail.get("extra_fields")
        if isinstance(current, list):
            self._details_show_extra_fields = True
            return merge_extra_fields(current, extra_fields)
        if detail is not None and self._details_show_extra_fields is None:
            self._details_show_extra_fields = False
            self.logger.warning(
                "Recras does not show a customer's extra fields (GET /api2/klanten/<id>), so a "
                "PUT sends only the extra fields the record lists. Where Recras merges them by "
                "name (the sandbox's default reading) the others stay; where a PUT replaces "
                "the list, list every extra field in each record, or the others are cleared."
            )
        return extra_fields

    def _report_unsent(self, job: UpsertJob, unsent: list[UnsentFields]) -> None:
        """Warn about every contact person field that was not sent, by name, and count it."""
        for person_id, names in unsent:
            who = (
                f"contact person {person_id} is linked, not changed"
                if person_id
                else ("a new contact person")
            )
            self._lines.warning(
                "Input line %s: %s: field(s) %s not sent (/klanten links existing contact "
                "persons as {id, hoofdcontact}; it documents no way to change them).",
                job.input_line,
                who,
                ", ".join(names),
            )
            self.stats.add(Note.PERSON_FIELDS_NOT_SENT, len(names))
