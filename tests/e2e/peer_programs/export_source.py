"""A minimal Airbyte source for tests/e2e/test_pyairbyte.py: the demo's customer export.

It stands in for "some other system" that exports customers with flat columns (the file
demo/export_customers.jsonl, path in EXPORT_FILE). One stream, ``export_customers``,
primary key ``customer_no``, full refresh; ``contactpersonen`` is declared as an array so
that the stream map that builds it keeps that type (as in meltano.yml).
"""

from __future__ import annotations

import json
import os
import sys
import time

EXPORT = os.environ["EXPORT_FILE"]
SCHEMA = {
    "type": "object",
    "properties": {
        **{
            name: {"type": ["string", "null"]}
            for name in (
                "customer_no", "company", "street", "postal_code", "city", "province",
                "website", "contact_first_name", "contact_last_name", "contact_gender",
                "contact_email", "contact_phone",
            )
        },
        "contactpersonen": {"type": ["array", "null"], "items": {"type": "object"}},
    },
}  # fmt: skip
STREAM = {
    "name": "export_customers",
    "json_schema": SCHEMA,
    "supported_sync_modes": ["full_refresh"],
    "source_defined_primary_key": [["customer_no"]],
}


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")


command = sys.argv[1]
if command == "spec":
    emit({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object"}}})
elif command == "check":
    emit({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
elif command == "discover":
    emit({"type": "CATALOG", "catalog": {"streams": [STREAM]}})
elif command == "read":
    with open(EXPORT, encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            now = int(time.time() * 1000)
            emit(
                {
                    "type": "RECORD",
                    "record": {"stream": STREAM["name"], "data": data, "emitted_at": now},
                }
            )
    emit(
        {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": STREAM["name"]},
                    "stream_state": {"done": True},
                },
            },
        }
    )
