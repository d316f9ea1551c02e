"""List items that carry ``contactpersonen`` (the sandbox's ``list_persons`` reading).

The docs say ``GET /api2/klanten`` items have no contact persons, but the sibling
``/api2/contacten`` does include them; under that reading the tap must use them, make no
detail request, and send the same records as under the documented reading, shared persons
(one person, two customers) included.
"""

from __future__ import annotations

import pytest
from support.sandbox import SandboxFactory

from tap_recras.testing import make_catalog, run_tap

pytestmark = pytest.mark.slow


def test_persons_in_the_list_need_no_detail_request_and_give_the_same_records(
    sandbox_factory: SandboxFactory,
) -> None:
    documented = sandbox_factory(customers=40)
    listing = sandbox_factory(customers=40, list_persons=True)
    config = documented.config()
    catalog = make_catalog(config)

    expected = run_tap(config, catalog=catalog)
    run = run_tap(listing.config(), catalog=catalog)

    assert run.returncode == 0, run.stderr
    assert "GET /api2/klanten/{id}" not in listing.stats()["requests"]
    for stream in ("klanten", "contactpersonen"):
        assert run.records(stream) == expected.records(stream)
    persons = run.records("contactpersonen")
    person_ids = [p["id"] for p in persons]
    shared = {i for i in person_ids if person_ids.count(i) > 1}
    assert shared, "the seed links some persons to two customers"
    assert len({(p["klant_id"], p["id"]) for p in persons}) == len(persons)
