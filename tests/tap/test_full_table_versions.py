"""FULL_TABLE with only ``contactpersonen`` selected: its records are still versioned.

The SDK announces a full-table version only for a selected stream, and the child took its
version from ``klanten``; with ``klanten`` deselected the run sent contact persons without
any ACTIVATE_VERSION, so a target never dropped the persons of deleted customers.
"""

from __future__ import annotations

from typing import Any

from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, run_tap


def only_persons(catalog: dict[str, Any]) -> dict[str, Any]:
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "klanten":
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = False
    return catalog


def test_full_table_of_contact_persons_alone_is_versioned(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=6, shuffle=True, page_size=4)
    config = sandbox.config()
    customers = sandbox.customers()
    sandbox.delete_customer(customers[2]["id"])
    links = {
        (c["id"], p["id"]) for c in customers if c is not customers[2] for p in c["contactpersonen"]
    }
    catalog = only_persons(make_catalog(config, full_table="metadata"))

    run = run_tap(config, catalog=catalog, log_level="INFO")

    assert run.returncode == 0, run.stderr[-2000:]
    shape = [
        (m["type"], m.get("stream"))
        for m in run.messages
        if m["type"] in {"SCHEMA", "ACTIVATE_VERSION", "RECORD"}
    ]
    assert all(stream == "contactpersonen" for _kind, stream in shape), shape
    kinds = [kind for kind, _stream in shape]
    assert kinds[0] == "SCHEMA" and kinds[-1] == "ACTIVATE_VERSION", kinds
    assert kinds.count("ACTIVATE_VERSION") == 1, kinds
    versions = {m["version"] for m in run.of_type("ACTIVATE_VERSION")}
    assert len(versions) == 1
    records = [m for m in run.messages if m["type"] == "RECORD"]
    assert {m.get("version") for m in records} == versions
    assert {(m["record"]["klant_id"], m["record"]["id"]) for m in records} == links
