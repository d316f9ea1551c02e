"""Changes to existing contact persons are never dropped without a word.

``/klanten`` links an existing person as ``{"id", "hoofdcontact"}`` and
documents no way to change one (that is ``/contactpersonen``), so the target never sends a
linked person's other fields -- the same under both sandbox readings of fields sent beside a
linked id (applied or ignored). Every field that is not sent, and that Recras does not already
have, is warned about by name and counted in the summary: fields given with a linked ``id``,
and the changed fields of a new person that matches an existing one by e-mail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.target import SECRET_KEY, customer, run_target, singer_input, target_config

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("linked_person_fields", ["apply", "ignore"])
def test_unsent_person_fields_are_warned_by_name_and_counted(
    sandbox_factory: Any, tmp_path: Path, linked_person_fields: str
) -> None:
    sandbox = sandbox_factory(
        customers=0, api_key=SECRET_KEY, linked_person_fields=linked_person_fields
    )
    config = target_config(tmp_path, sandbox.config())
    original = customer(1)
    bert = {
        "voornaam": "Bert",
        "email1": "bert@example.com",
        "telefoon1": "010",
        "hoofdcontact": False,
    }
    original["contactpersonen"].append(bert)
    assert run_target(config, singer_input([original])).returncode == 0
    (created,) = sandbox.customers()
    anna_id, bert_id = (person["id"] for person in created["contactpersonen"])

    changed = customer(1)
    changed["contactpersonen"] = [
        # Linked by id, with a new phone number and the name Recras already has.
        {"id": anna_id, "hoofdcontact": True, "telefoon1": "0611", "voornaam": "Anna"},
        # A new person matching Bert by e-mail (other case): new phone numbers.
        {**bert, "email1": "BERT@example.com", "telefoon1": "0622", "telefoon2": "0633"},
    ]
    result = run_target(config, singer_input([changed]))
    assert result.returncode == 0, result.stderr
    assert "1 updated" in result.stderr
    assert "; 3 contact person fields not sent" in result.stderr
    assert (
        f"contact person {anna_id} is linked, not changed: field(s) telefoon1 not sent"
        in result.stderr
    )
    assert (
        f"contact person {bert_id} is linked, not changed: field(s) telefoon1, telefoon2 not sent"
        in result.stderr
    )
    (after,) = sandbox.customers()
    persons = {person["id"]: person for person in after["contactpersonen"]}
    assert sorted(persons) == sorted([anna_id, bert_id])
    assert persons[anna_id]["telefoon1"] is None
    assert persons[bert_id]["telefoon1"] == "010"


def test_fields_recras_already_has_are_not_warned(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    record = customer(1)
    assert run_target(config, singer_input([record])).returncode == 0
    resend = target_config(tmp_path, sandbox.config(), skip_unchanged=False)
    again = run_target(resend, singer_input([record]))
    assert again.returncode == 0, again.stderr
    assert "1 updated" in again.stderr
    assert "not sent" not in again.stderr
