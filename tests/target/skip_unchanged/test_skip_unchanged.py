"""Reverse ETL in proportion to change: unchanged records are skipped.

The real ``target-recras`` against a real sandbox, through tests/support/fault_proxy.py, which
counts (and, where a test says so, faults) every request. A record with a source key whose
payload is the one last written to its customer and confirmed is skipped without a request;
everything else is sent: changed records, every record with ``skip_unchanged`` false, a record
whose last write failed or was cut off, a create that was pending.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import Exchange, Fault, FaultProxy, Rule
from support.lives.skip_unchanged import assert_data, by_email, reshuffled, source_record, writes
from support.target import (
    SECRET_KEY,
    run_target,
    singer_input,
    start_target,
    states,
    target_config,
)

from target_recras.writes.digest import payload_digest

pytestmark = pytest.mark.timeout(120)

#: A rerun of 500 customers with 10 changed: one request per change.
TOTAL, CHANGED = 500, 10
REQUEST_BOUND = CHANGED


def summary(stderr: str) -> str:
    return stderr.rsplit("Summary: ", maxsplit=1)[-1].splitlines()[0]


def test_digest_covers_the_payload_in_canonical_form() -> None:
    body = {"naam": "A", "contactpersonen": [{"voornaam": "B", "hoofdcontact": True}], "x": 1}
    same = {"x": 1.0, "contactpersonen": [{"hoofdcontact": True, "voornaam": "B"}], "naam": "A"}
    assert payload_digest(body, None) == payload_digest(same, None)
    assert payload_digest(body, None) != payload_digest({**body, "x": 1.5}, None)
    assert payload_digest(body, None) != payload_digest(body, 7)  # the customer it names
    persons = [{"voornaam": "B", "hoofdcontact": False}, {"voornaam": "C", "hoofdcontact": True}]
    swapped = persons[::-1]
    assert payload_digest({"contactpersonen": persons}, None) != payload_digest(
        {"contactpersonen": swapped}, None
    )


@pytest.mark.slow
def test_digest_rerun_of_500_with_10_changed_sends_only_the_changes(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    records = {n: source_record(n) for n in range(TOTAL)}
    with FaultProxy(sandbox.base_url) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), max_workers=4)
        first = run_target(config, singer_input(list(records.values()), state_every=100))
        assert first.returncode == 0, first.stderr[-3000:]
        assert summary(first.stderr).startswith(f"{TOTAL} records read: {TOTAL} created")
        first_run = len(proxy.log)

        changed = random.Random(13).sample(range(TOTAL), CHANGED)
        for n in changed:
            records[n] = source_record(n, version=1)
        rerun = [reshuffled(record) for record in records.values()]
        random.Random(7).shuffle(rerun)
        second = run_target(config, singer_input(rerun, state_every=100))
        assert second.returncode == 0, second.stderr[-3000:]
        requests = writes(proxy, first_run)
    assert sum(requests.values()) <= REQUEST_BOUND, requests
    # Each change: its PUT alone (its contact persons are those last written, so no GET to
    # link them); no list, no POST.
    assert requests == {"PUT /api2/klanten/<id>": CHANGED}
    assert summary(second.stderr).startswith(
        f"{TOTAL} records read: 0 created, 0 merged, {CHANGED} updated, "
        f"{TOTAL - CHANGED} unchanged (skipped), 0 recreated after a 404, 0 rejected"
    )
    # Skipped records are handled: every STATE after them is emitted.
    assert states(second.stdout)[-1] == {"done": TOTAL}
    assert_data(sandbox, records)


@pytest.mark.slow
def test_digest_setting_off_writes_every_record_again(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    records = [source_record(n) for n in range(20)]
    with FaultProxy(sandbox.base_url) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        assert run_target(config, singer_input(records)).returncode == 0
        first_run = len(proxy.log)
        off = target_config(tmp_path, sandbox.config(base_url=proxy.base_url), skip_unchanged=False)
        result = run_target(off, singer_input(records))
        assert result.returncode == 0, result.stderr[-3000:]
        assert writes(proxy, first_run)["PUT /api2/klanten/<id>"] == 20
        assert "20 updated, 0 unchanged" in summary(result.stderr)
        # The forced resend confirmed the same payloads: the next run skips them all again.
        after_off = len(proxy.log)
        result = run_target(config, singer_input(records))
        assert result.returncode == 0
        assert len(proxy.log) == after_off
        assert "0 updated, 20 unchanged (skipped)" in summary(result.stderr)
    assert_data(sandbox, dict(enumerate(records)))


class FailingTarget:
    """Runs the target; while ``failing``, every PUT is applied by Recras but its answer lost.

    ``how`` ``"500"``: the answer is a 500 (retried with ``Retry-After: 0`` until the client
    gives up, exit 1); ``"kill"``: the target is killed before the answer arrives.
    """

    def __init__(self, how: str) -> None:
        self.how = how
        self.failing = False
        self._process: subprocess.Popen[str] | None = None

    def schedule(self, exchange: Exchange) -> Fault | None:
        if not (self.failing and exchange.method == "PUT"):
            return None
        return Fault.after_status(500) if self.how == "500" else Fault.after_drop()

    def hook(self, exchange: Exchange) -> None:
        if self.failing and self.how == "kill" and self._process is not None:
            self._process.kill()

    def fail(self, config: Path, text: str) -> None:
        self.failing = True
        self._process = start_target(config)
        _, stderr = self._process.communicate(text, timeout=60)
        self.failing = False
        assert self._process.returncode == (1 if self.how == "500" else -9), stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["500", "kill"], ids=["put-500-after-retries", "killed-mid-put"])
def test_digest_a_record_whose_write_failed_is_sent_again(
    sandbox_factory: Any, tmp_path: Path, how: str
) -> None:
    """Recras applied the PUT, but the target never heard so: the digest it had is gone.

    A later run that goes back to the data last confirmed sends it (Recras holds the failed
    write's data, not that), and so does a rerun of the record identical to the one that
    failed; the records that did not change are skipped.
    """
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    records = [source_record(n) for n in range(3)]
    changed = [records[0], source_record(1, version=1), records[2]]
    target = FailingTarget(how)
    rules = [Rule("PUT", "/api2/klanten/*", nth=range(1, 100), hook=target.hook)]
    with FaultProxy(sandbox.base_url, rules=rules, schedule=target.schedule) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        assert run_target(config, singer_input(records)).returncode == 0
        target.fail(config, singer_input(changed))
        assert by_email(sandbox)["anna1@example.com"]["plaats"] == "Zwolle 1"  # applied

        # Back to the data last confirmed: Recras holds the failed write's, so it is sent.
        before = len(proxy.log)
        result = run_target(config, singer_input(records))
        assert result.returncode == 0, result.stderr[-3000:]
        assert writes(proxy, before)["PUT /api2/klanten/<id>"] == 1
        assert "1 updated, 2 unchanged (skipped)" in summary(result.stderr)
        assert_data(sandbox, dict(enumerate(records)))

        # The record identical to the one that failed is sent again too.
        target.fail(config, singer_input(changed))
        before = len(proxy.log)
        result = run_target(config, singer_input(changed))
        assert result.returncode == 0, result.stderr[-3000:]
        assert writes(proxy, before)["PUT /api2/klanten/<id>"] == 1
        assert "1 updated, 2 unchanged (skipped)" in summary(result.stderr)
    assert_data(sandbox, dict(enumerate(changed)))


@pytest.mark.slow
def test_digest_a_create_left_pending_by_a_kill_is_written_on_the_rerun(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """SRC customer 0 was written (digest stored), then deleted in Recras. The next run's
    changed record finds the 404 and re-creates it: Recras applies that POST, and the target
    is killed before the answer, leaving the create pending. The rerun with the data first
    written (its old digest) resolves the pending create to the new customer and must PUT the
    record there: that customer holds the killed run's data."""
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    records = [source_record(0), source_record(1)]
    process: dict[str, subprocess.Popen[str]] = {}

    def kill(exchange: Exchange) -> None:
        process["target"].kill()

    rules = [Rule("POST", "/api2/klanten", nth=3, fault=Fault.after_drop(), hook=kill)]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        assert run_target(config, singer_input(records)).returncode == 0
        sandbox.delete_customer(by_email(sandbox)["anna0@example.com"]["id"])
        changed = [source_record(0, version=2), records[1]]
        process["target"] = start_target(config)
        _, stderr = process["target"].communicate(singer_input(changed), timeout=60)
        assert process["target"].returncode == -9, stderr[-3000:]
        with sqlite3.connect(tmp_path / "id-map.sqlite3") as db:
            pending = db.execute("SELECT map_key FROM id_map WHERE klant_id IS NULL").fetchall()
        assert pending == [("source:external_id='EXT-0'",)]
        assert by_email(sandbox)["anna0@example.com"]["plaats"] == "Zwolle 2"

        before = len(proxy.log)
        result = run_target(config, singer_input(records))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Pending create source:external_id='EXT-0' is customer" in result.stderr
        assert writes(proxy, before)["PUT /api2/klanten/<id>"] == 1
        assert "1 updated, 1 unchanged (skipped)" in summary(result.stderr)
    assert_data(sandbox, dict(enumerate(records)))


@pytest.mark.slow
def test_digest_a_dry_run_counts_unchanged_records_and_stores_nothing(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    records = [source_record(n) for n in range(4)]
    config = target_config(tmp_path, sandbox.config())
    assert run_target(config, singer_input(records)).returncode == 0
    changed = [*records[:3], source_record(3, version=1), source_record(4)]
    dry = target_config(tmp_path, sandbox.config(), dry_run=True)
    result = run_target(dry, singer_input(changed))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3 unchanged (skipped)" in summary(result.stderr)
    assert "dry run: 1 would be created, 1 updated" in summary(result.stderr)
    # Nothing was written: the real run sends the change and the new record.
    result = run_target(config, singer_input(changed))
    assert "1 created, 0 merged, 1 updated, 3 unchanged (skipped)" in summary(result.stderr)
    assert_data(sandbox, dict(enumerate(changed)))
