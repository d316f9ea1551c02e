"""A POST that may have been processed is not blindly retried.

Covers the ``on_retry`` hook added to ``recras_api.RecrasClient.request``/``create_klant``
(called before each retry, can end the request) and the target's use of it: before
retrying a POST after a dropped connection, timeout or 5xx, it looks for the customer.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from recras_api import (
    ConnectionSettings,
    RecrasClient,
    RecrasUnavailableError,
    RetryPolicy,
    WriteResult,
)
from target_recras.id_map import IdMap, KeyKind
from target_recras.run import report
from target_recras.run.checkpoints import Checkpoints
from target_recras.run.rejects import RejectsFile
from target_recras.run.upsert import Upserter
from target_recras.writes.jobs import UpsertJob

LOGGER = logging.getLogger("test")
BODY = {
    "naam": "Hook BV",
    "contactpersonen": [{"voornaam": "H", "email1": "h@x.nl", "hoofdcontact": True}],
}


def _client(sandbox: Any, tries: int = 4) -> RecrasClient:
    settings = ConnectionSettings.from_config(sandbox.config(), "test")
    return RecrasClient(settings, LOGGER, retry=RetryPolicy(max_tries=tries, base_delay=0.01))


def test_on_retry_sees_each_failure_before_its_retry(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=0, fault_rate=0.6, fault_seed=3, retry_after=0)
    client = _client(sandbox, tries=30)
    failures: list[str] = []
    result = client.create_klant(BODY, on_retry=failures.append)
    assert result.status == 201
    assert failures, "fault seed 3 faults the first attempt"
    assert set(failures) <= {"HTTP 429", "HTTP 503", "ConnectionError", "ChunkedEncodingError"}
    assert client.retries == len(failures)
    assert sandbox.stats()["requests"]["POST /api2/klanten"] == len(failures) + 1


def test_on_retry_can_end_the_request(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=0, fault_rate=1.0, retry_after=0)
    client = _client(sandbox)

    def stop(failure: str) -> None:
        raise LookupError(failure)

    with pytest.raises(LookupError):
        client.create_klant(BODY, on_retry=stop)
    assert sandbox.stats()["requests"]["POST /api2/klanten"] == 1
    # Without a hook the retries run out as before.
    with pytest.raises(RecrasUnavailableError):
        client.create_klant(BODY)


class _LostAnswerClient:
    """Creates the customer, then loses the answer (a dropped connection) once."""

    def __init__(self) -> None:
        self.customers: dict[int, dict[str, Any]] = {}
        self.posts = 0

    def create_klant(self, body: dict[str, Any], *, on_retry: Any = None) -> WriteResult:
        self.posts += 1
        klant_id = 100 + len(self.customers)
        self.customers[klant_id] = {"id": klant_id, **body}
        if self.posts == 1 and on_retry is not None:
            on_retry("ConnectionError")  # Recras processed it; the client would retry now
        return WriteResult(201, klant_id)

    def iter_klanten(self, min_id: int | None = None) -> Any:
        return iter(c for i, c in self.customers.items() if i >= (min_id or 0))

    def get_klant(self, klant_id: int) -> dict[str, Any]:
        return self.customers[klant_id]

    def update_klant(self, klant_id: int, body: dict[str, Any]) -> WriteResult:
        self.customers[klant_id].update(body)
        return WriteResult(200, klant_id)


def test_post_whose_answer_was_lost_is_not_sent_again(tmp_path: Path) -> None:
    client = _LostAnswerClient()
    stats = report.RunStats()
    id_map = IdMap.open(tmp_path / "map.sqlite3")
    checkpoints = Checkpoints(lambda state, mark: None)
    upserter = Upserter(
        client=client,
        id_map=id_map,
        rejects=RejectsFile(tmp_path / "rejects.jsonl", None, LOGGER),
        stats=stats,
        checkpoints=checkpoints,
        logger=LOGGER,
    )
    record = {"external_id": "H1", **json.loads(json.dumps(BODY))}
    job = UpsertJob(
        seq=checkpoints.start(),
        input_line=2,
        stream="klanten",
        record=record,
        klant_id=None,
        map_key="source:external_id='H1'",
        kind=KeyKind.SOURCE,
    )
    upserter.write(job)
    assert client.posts == 1
    assert len(client.customers) == 1
    assert stats.counts[report.Outcome.CREATED] == 1
    assert id_map.lookup("source:external_id='H1'") == 100
    assert checkpoints.watermark == 1
