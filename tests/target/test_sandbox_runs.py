"""target-recras end to end: the real executable against a real recras-sandbox process.

Every run uses a distinctive API key, and ``run_target`` asserts it never appears in the
target's output.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    rejects,
    run_target,
    singer_input,
    start_target,
    states,
    target_config,
)

from recras_sandbox.testing import SandboxProcess
from target_recras.id_map import IdMap, KeyKind


def _start(sandbox_factory: Any, **options: Any) -> SandboxProcess:
    options.setdefault("customers", 3)
    return sandbox_factory(api_key=SECRET_KEY, **options)


def _by_name(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item in sandbox.customers():
        assert item["naam"] not in found, f"duplicate customer {item['naam']}"
        found[item["naam"]] = item
    return found


@pytest.mark.slow
def test_same_input_twice_creates_then_only_updates(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config(), max_workers=4)
    text = singer_input([customer(n) for n in range(20)], state_every=5)

    first = run_target(config, text)
    assert first.returncode == 0, first.stderr
    assert "20 created, 0 merged, 0 updated" in first.stderr
    assert states(first.stdout)[-1] == {"done": 20}
    after_first = sandbox.stats()
    assert after_first["customers"] == 3 + 20

    sandbox.reset_stats()
    second = run_target(target_config(tmp_path, sandbox.config(), skip_unchanged=False), text)
    assert second.returncode == 0, second.stderr
    assert "0 created, 0 merged, 20 updated" in second.stderr
    stats = sandbox.stats()
    assert stats["customers"] == after_first["customers"]
    assert stats["contact_persons"] == after_first["contact_persons"]
    assert stats["requests"].get("POST /api2/klanten", 0) == 0
    assert stats["requests"]["PUT /api2/klanten/{id}"] == 20
    assert len(_by_name(sandbox)) == 23


@pytest.mark.slow
@pytest.mark.parametrize("covered", [True, False], ids=["state-after-them", "no-state"])
def test_keyless_input_twice_is_not_duplicated(
    sandbox_factory: Any, tmp_path: Path, covered: bool
) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config())
    records = [{k: v for k, v in customer(n).items() if k != "external_id"} for n in range(5)]
    text = singer_input(records, key_properties=[], state_every=5 if covered else 0)
    assert run_target(config, text).returncode == 0
    second = run_target(config, text)
    assert second.returncode == 0, second.stderr
    if covered:
        # A STATE covered them, so the id map let them go: Recras merges a POST with the
        # same name and main-contact e-mail (200).
        assert "0 created, 5 merged" in second.stderr
    else:
        # No STATE covered them: a rerun replays them, and the id map makes them updates.
        assert "0 created, 0 merged, 5 updated" in second.stderr
    assert sandbox.stats()["customers"] == 3 + 5


def test_changed_source_record_is_updated_in_place(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config())
    original = customer(7)
    original["contactpersonen"].append(
        {"voornaam": "Bert", "achternaam": "Zonder Mail", "hoofdcontact": False}
    )
    assert run_target(config, singer_input([original])).returncode == 0
    before = _by_name(sandbox)["Klant 7"]

    changed = json.loads(json.dumps(original))
    changed["naam"] = "Klant 7 BV"
    changed["plaats"] = "Assen"
    changed["provinciecode"] = "NL-DR"
    result = run_target(config, singer_input([changed]))
    assert result.returncode == 0, result.stderr
    assert "1 updated" in result.stderr

    after = _by_name(sandbox)
    assert "Klant 7" not in after
    updated = after["Klant 7 BV"]
    assert updated["id"] == before["id"]
    assert updated["plaats"] == "Assen"
    # The same two persons (matched by e-mail, and by name), not two new ones.
    assert [p["id"] for p in updated["contactpersonen"]] == [
        p["id"] for p in before["contactpersonen"]
    ]
    assert updated["contactpersonen"][0]["hoofdcontact"] is True


def test_records_of_one_customer_apply_in_input_order(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config(), max_workers=8)
    versions = [customer(1, plaats=f"Plaats {v}") for v in range(6)]
    others = [customer(n) for n in range(2, 12)]
    result = run_target(config, singer_input([*versions[:3], *others, *versions[3:]]))
    assert result.returncode == 0, result.stderr
    klant = _by_name(sandbox)["Klant 1"]
    assert klant["plaats"] == "Plaats 5"
    assert sandbox.stats()["customers"] == 3 + 11


def test_record_with_unknown_id_is_rejected_on_404(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config())
    record = customer(1, id=999_999)
    result = run_target(config, singer_input([record, customer(2)], key_properties=["id"]))
    assert result.returncode == 0, result.stderr
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert "customer 999999 does not exist in Recras" in entry["reason"]
    assert entry["field_path"] == "id"
    assert entry["klant_id"] == 999_999
    assert sandbox.stats()["customers"] == 3 + 1


def test_mapped_customer_deleted_in_recras_is_recreated(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # The id map says EXT-1 is a customer that this (fresh) Recras does not have: as if it
    # had been deleted in Recras since the last run.
    id_map = IdMap.open(tmp_path / "id-map.sqlite3")
    id_map.store(f"{KeyKind.SOURCE}:external_id='EXT-1'", KeyKind.SOURCE, "[]", 424_242, 0)
    id_map.close()
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config())
    result = run_target(config, singer_input([customer(1)]))
    assert result.returncode == 0, result.stderr
    assert "Customer 424242 (id map entry source:external_id='EXT-1') no longer exists" in (
        result.stderr
    )
    assert "1 recreated after a 404" in result.stderr
    new_id = _by_name(sandbox)["Klant 1"]["id"]
    assert IdMap.open(tmp_path / "id-map.sqlite3").lookup("source:external_id='EXT-1'") == new_id


def test_recras_406_rejects_the_record_and_goes_on(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config())
    linked_to_nobody = customer(1, contactpersonen=[{"id": 987_654, "hoofdcontact": True}])
    result = run_target(config, singer_input([linked_to_nobody, customer(2)], state_every=1))
    assert result.returncode == 0, result.stderr
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert entry["reason"].startswith("Recras refused the record (406): ")
    assert "987654" in entry["reason"]
    assert entry["field_path"] == "contactpersonen[0].id"
    assert entry["record"] == linked_to_nobody
    assert states(result.stdout)[-1] == {"done": 2}
    assert "Klant 2" in _by_name(sandbox)
    # The refused create left no id map entry behind.
    assert IdMap.open(tmp_path / "id-map.sqlite3").lookup("source:external_id='EXT-1'") is None


@pytest.mark.slow
def test_faults_every_customer_exactly_once(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory, fault_rate=0.2, fault_seed=11, retry_after=0)
    config = target_config(tmp_path, sandbox.config(), max_workers=4)
    count = 150
    result = run_target(config, singer_input([customer(n) for n in range(count)], state_every=50))
    assert result.returncode == 0, result.stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert all(names[f"Klant {n}"] == 1 for n in range(count))
    assert sandbox.stats()["customers"] == 3 + count
    retried = int(result.stderr.split(" requests retried")[0].rsplit(" ", 1)[-1])
    assert retried > 10
    assert states(result.stdout)[-1] == {"done": count}


@pytest.mark.slow
def test_sigkill_and_rerun_from_last_state(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory, latency_ms=20)
    config = target_config(tmp_path, sandbox.config(), max_workers=4)
    count = 400
    records = [customer(n) for n in range(count)]
    process = start_target(config, stderr=subprocess.DEVNULL)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(singer_input(records, state_every=10))
    process.stdin.flush()
    seen: list[dict[str, Any]] = []
    while len(seen) < 5:
        line = process.stdout.readline()
        assert line, "the target ended before emitting five STATE messages"
        seen.append(json.loads(line))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    done = seen[-1]["done"]
    assert done < count  # killed in the middle

    # Rerun from the last STATE: a tap would resume after record `done`.
    rerun = run_target(config, singer_input(records[done:], state_every=10))
    assert rerun.returncode == 0, rerun.stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert all(names[f"Klant {n}"] == 1 for n in range(count)), "lost or duplicated"
    assert sandbox.stats()["customers"] == 3 + count


def test_pending_create_from_a_crash_is_found_not_repeated(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = _start(sandbox_factory)
    landed, lost = customer(1), customer(2)
    # A crash between POST and id map commit: EXT-1's POST reached Recras, EXT-2's did not.
    body = {k: v for k, v in landed.items() if k != "external_id"}
    status, _, _ = sandbox.request("POST", "/api2/klanten", body)
    assert status == 201
    id_map = IdMap.open(tmp_path / "id-map.sqlite3")
    for record in (landed, lost):
        key = f"{KeyKind.SOURCE}:external_id={record['external_id']!r}"
        identity = json.dumps([record["naam"], f"email:{record['contactpersonen'][0]['email1']}"])
        id_map.begin_create(key, KeyKind.SOURCE, identity, 0, None)
    id_map.close()

    config = target_config(tmp_path, sandbox.config())
    result = run_target(config, singer_input([landed, lost]))
    assert result.returncode == 0, result.stderr
    assert "2 customer create(s) were in flight when the previous run stopped" in result.stderr
    assert "1 created, 0 merged, 1 updated" in result.stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names["Klant 1"] == 1
    assert names["Klant 2"] == 1


def test_readonly_key_stops_at_once_without_later_state(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config(api_key=sandbox.readonly_key))
    text = json.dumps({"type": "STATE", "value": {"done": 0}}) + "\n"
    text += singer_input([customer(n) for n in range(30)], state_every=1)
    result = run_target(config, text)
    assert result.returncode == 1
    assert "editContact" in result.stderr
    assert "CRITICAL" in result.stderr
    assert states(result.stdout) == [{"done": 0}]
    assert sandbox.stats()["customers"] == 3
    assert "Traceback" not in result.stderr


def test_wrong_key_stops_with_401(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config(api_key="wrong-" + SECRET_KEY))
    result = run_target(config, singer_input([customer(1)], state_every=1))
    assert result.returncode == 1
    assert "Recras rejected the credentials (401)" in result.stderr
    assert "wrong-" not in result.stderr
    assert states(result.stdout) == []


def test_dry_run_writes_nothing(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory)
    config = target_config(tmp_path, sandbox.config(), dry_run=True)
    text = singer_input([customer(n) for n in range(10)] + [customer(99, naam=5)], state_every=5)
    result = run_target(config, text)
    assert result.returncode == 0, result.stderr
    assert "dry run: 10 would be created, 0 updated" in result.stderr
    assert sandbox.stats()["requests"] == {}
    assert sandbox.stats()["customers"] == 3
    assert not (tmp_path / "id-map.sqlite3").exists()
    assert len(rejects(tmp_path / "rejects.jsonl")) == 1
    assert states(result.stdout) == []  # a dry run passes no STATE on


@pytest.mark.slow
def test_progress_and_summary_are_logged(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = _start(sandbox_factory, latency_ms=50)
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    started = time.monotonic()
    result = run_target(config, singer_input([customer(n) for n in range(260)]), timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started > 10
    assert "Progress: " in result.stderr
    assert "Summary: 260 records read: 260 created" in result.stderr
    assert '"metric":"record_count"' in result.stderr
