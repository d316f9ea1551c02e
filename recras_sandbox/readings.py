"""The sandbox's readings of the points the Recras documentation leaves open.

Where the docs are silent or say "unconfirmed", each plausible reading is a mode, chosen
per sandbox (a :class:`~recras_sandbox.options.SandboxOptions` field, hence a CLI flag and a
``SandboxProcess`` keyword), so a client can be tested under every reading. The defaults are
the readings listed first in docs/sandbox.md ("Choices for unconfirmed points"); a mode is
never a convenience for a client.
"""

from __future__ import annotations

#: ``name-email``: a POST with the name and main e-mail of an existing customer merges (200).
#: ``never``: every valid POST creates a customer (201).
MERGE_READINGS = ("name-email", "never")
#: ``merge``: a PUT's ``extra_fields`` are merged by name; ``replace``: they are the new list.
PUT_EXTRA_FIELDS_READINGS = ("merge", "replace")
#: ``id>=N`` keeps ids ``>= N`` (``inclusive``, "the smallest id to allow") or ``> N``.
ID_MIN_READINGS = ("inclusive", "exclusive")
#: Fields sent beside a linked contact ``id``: applied to that person, or ignored.
LINKED_PERSON_FIELDS_READINGS = ("apply", "ignore")
#: ``accepted``: ``GET /api2/boekingen`` filters on ``id>`` as the customer list does;
#: ``refused``: it answers 406 for it, as for any unknown parameter.
BOOKING_ID_FILTER_READINGS = ("accepted", "refused")
#: ``list``: booking list items carry ``boekingsregels``; ``detail``: only the detail does.
BOOKING_LINES_READINGS = ("list", "detail")
#: ``datumNa=D`` on facturen keeps ``datum > D`` (``exclusive``) or ``datum >= D``.
DATUM_NA_READINGS = ("exclusive", "inclusive")
#: Amounts as JSON numbers (``12.50``) or as decimal strings (``"12.50"``).
MONEY_READINGS = ("numbers", "strings")
#: ``factuurregels?begin=B&eind=E`` keeps reference dates in ``[B, E]`` or ``[B, E)``.
REGELS_EIND_READINGS = ("inclusive", "exclusive")
