"""One person in two Unicode forms is one person; one source key in two forms is one key.

"Renée" can be sent composed (NFC, ``é`` as one code point) or decomposed (NFD, ``e`` plus a
combining accent); both are the same text. Names and e-mails are compared after Unicode
normalisation and case folding wherever the target recognises a person or a customer: linking
existing contact persons on ``PUT``, the identity of keyless records (their lane and natural
map key), and the look-up after a lost ``POST`` answer. Source key values are normalised
(NFC) but keep their case: a source system may have keys that differ only in case.

The real ``target-recras`` against a real sandbox, plus the look-up on its own for a Recras
that shows the text in another form than it was sent.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    RecrasStub,
    customer,
    run_target_ok,
    singer_input,
    target_config,
)

from target_recras.writes.matching import customer_identity, person_identity, source_key_text
from target_recras.writes.recovery import find_created

pytestmark = pytest.mark.timeout(90)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


#: Composed spellings; every test also sends them decomposed.
NAAM = "Café Renée"
MAIN = {"voornaam": "Renée", "email1": "josé@café.example", "hoofdcontact": True}
#: A person without e-mail: recognised by first plus last name.
SECOND = {"voornaam": "Zoë", "achternaam": "Ångström", "hoofdcontact": False}


def _decomposed(person: dict[str, Any]) -> dict[str, Any]:
    return {key: nfd(value) if isinstance(value, str) else value for key, value in person.items()}


@pytest.mark.slow
def test_persons_sent_decomposed_are_linked_to_the_composed_ones(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    run_target_ok(config, singer_input([customer(1, naam=NAAM, contactpersonen=[MAIN, SECOND])]))
    (created,) = sandbox.customers()
    person_ids = [person["id"] for person in created["contactpersonen"]]

    again = customer(
        1, naam=nfd(NAAM), plaats="Zwolle", contactpersonen=[_decomposed(MAIN), _decomposed(SECOND)]
    )
    stderr = run_target_ok(config, singer_input([again]))

    (updated,) = sandbox.customers()
    assert updated["plaats"] == "Zwolle"
    # Linked, not unlinked and created again as copies.
    assert [person["id"] for person in updated["contactpersonen"]] == person_ids, stderr[-3000:]
    # Canonically equal names are what Recras has: nothing is reported as not sent.
    assert "not sent" not in stderr, stderr[-3000:]


@pytest.mark.parametrize("merge", ["name-email", "never"])
def test_a_keyless_record_sent_in_both_forms_is_one_customer(
    sandbox_factory: Any, tmp_path: Path, merge: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge=merge)
    composed = {"naam": NAAM, "plaats": "Assen", "contactpersonen": [MAIN]}
    decomposed = {"naam": nfd(NAAM), "plaats": "Breda", "contactpersonen": [_decomposed(MAIN)]}
    config = target_config(tmp_path, sandbox.config())
    stderr = run_target_ok(config, singer_input([composed, decomposed], key_properties=[]))
    assert [item["plaats"] for item in sandbox.customers()] == ["Breda"], stderr[-3000:]
    assert "1 created, 0 merged, 1 updated" in stderr


def test_source_keys_are_one_key_in_both_forms_but_keep_their_case(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    records = [
        customer(1, external_id="Renée-1", plaats="Assen"),
        customer(1, external_id=nfd("Renée-1"), plaats="Breda"),
        # Case-distinct keys are distinct customers (with their own name and e-mail).
        customer(2, external_id="abc", plaats="Delft"),
        customer(3, external_id="ABC", plaats="Emmen"),
    ]
    stderr = run_target_ok(config, singer_input(records))
    assert sorted(item["plaats"] for item in sandbox.customers()) == ["Breda", "Delft", "Emmen"]
    assert "3 created, 0 merged, 1 updated" in stderr


# -- the comparisons on their own --------------------------------------------------------


def test_person_identity_is_the_same_in_both_forms_and_any_case() -> None:
    assert person_identity(_decomposed(MAIN)) == person_identity(MAIN)
    assert person_identity({**MAIN, "email1": " JOSÉ@CAFÉ.EXAMPLE "}) == person_identity(MAIN)
    assert person_identity(_decomposed(SECOND)) == person_identity(SECOND)
    # Case folding can leave text that is not NFC ("\u01f0", j with caron, folds to j plus a
    # combining caron); the identity is NFC all the same.
    assert "\u01f0".casefold() != nfc("\u01f0".casefold())
    folded = person_identity({"voornaam": "\u01f0", "hoofdcontact": True})
    assert folded is not None
    assert folded == nfc(folded)


def test_source_key_text_is_nfc_and_keeps_case() -> None:
    assert source_key_text(nfd("Renée")) == source_key_text("Renée")
    assert source_key_text("abc") != source_key_text("ABC")


def test_the_look_up_after_a_lost_answer_finds_the_customer_in_the_other_form() -> None:
    main = {**MAIN, "id": 50, "email1": "JOSÉ@café.example"}
    client: Any = RecrasStub([{"id": 5, "naam": NAAM, "contactpersonen": [main]}])
    identity = customer_identity(nfd(NAAM), [_decomposed(MAIN)])
    assert find_created(client, [identity]) == {identity: [5]}
    # An identity stored in the id map by an earlier release (not normalised) is found too.
    stored = json.dumps([nfd(NAAM), "email:" + nfd("josé@café.example")])
    assert find_created(client, [stored]) == {stored: [5]}
