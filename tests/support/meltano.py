"""Meltano as a new user has it: the Meltano of .venv-meltano on PATH, in a project of its own.

A test that creates a fresh project (``meltano init`` in ``tmp_path``) runs Meltano with
:func:`new_user_env`, so its Meltano never sees the checkout's ``meltano.yml`` and ``.meltano``
nor the caller's ``MELTANO_*``, ``TAP_*``, ``TARGET_*`` and ``RECRAS_*`` variables: a setting
the test does not give is missing, as it is for a user who follows the README.
"""

from __future__ import annotations

import os

from recras_demo import MELTANO

from recras_sandbox.resources.ledger import REFERENCE_TABLES


def new_user_env(**variables: str) -> dict[str, str]:
    """The caller's environment without Meltano and plugin settings, Meltano first on PATH,
    plus ``variables``."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MELTANO_", "TAP_", "TARGET_", "RECRAS_"))
    }
    path = os.pathsep.join([str(MELTANO.parent), inherited.get("PATH", os.defpath)])
    return {
        **inherited,
        "PATH": path,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        **variables,
    }


#: The streams meltano.yml's hourly job reads (tap-recras, incremental), and the reference
#: tables its nightly job (tap-recras-full) reads besides customers, bookings and invoices.
HOURLY_STREAMS = (
    "klanten",
    "contactpersonen",
    "boekingen",
    "boekingsregels",
    "facturen",
    "betalingen",
    "factuurregels",
)
NIGHTLY_STREAMS = (*HOURLY_STREAMS[:5], *REFERENCE_TABLES)
