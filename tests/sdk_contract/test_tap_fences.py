"""The singer-sdk internals tap-recras relies on (tap_recras/sdk_compat.py).

Each private name is fingerprinted by its source code as read in singer-sdk 0.54.9: a
release that renames, removes or changes one fails here, naming it, instead of the tap
silently skipping a step. And no other tap module uses a private SDK name directly.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest

import tap_recras
from tap_recras.sdk_compat import CHECKED_AGAINST, PRIVATE_NAMES, CompatStream, PrivateName

#: sha256 (first 16 hex digits) of each callable's source in singer-sdk 0.54.9. When one
#: changes, read the new SDK code, adapt tap_recras/sdk_compat.py, then update the value.
SOURCE_FINGERPRINTS = {
    "Stream._write_record_message": "292b7bed39883bd9",
    "Stream._increment_stream_state": "cabc0edb2fd4f000",
    "Stream._process_record": "8529b9f3ce2f849d",
    "Stream._sync_records": "8928dc7f50e9bf57",
    "Stream._write_state_message": "f82ecd8d16986823",
    "Stream._write_schema_message": "4077b24e5440fdef",
    "Stream._write_activate_version_message": "b5295d35a81b3da6",
    "Counter._ready_to_log": "57f5533effc3a205",
    "Counter._pop": "2743e9c61d12bf12",
    "Tap._handle_termination": "2bb79ae47769883a",
    "Tap.sync_all": "e4412393757b4cdc",
    "PluginBase._handle_termination": "d467c7407cf55b00",
    "singer_sdk.helpers._state.finalize_state_progress_markers": "bab6282c32282f40",
}
TAP_PACKAGE = Path(tap_recras.__file__).parent


def label(use: PrivateName) -> str:
    owner = use.owner
    return f"{getattr(owner, '__qualname__', getattr(owner, '__name__', owner))}.{use.name}"


def test_installed_sdk_is_the_release_line_every_name_was_checked_against() -> None:
    installed = version("singer-sdk")
    line = ".".join(CHECKED_AGAINST.split(".")[:2])
    assert installed.startswith(line + "."), f"singer-sdk {installed}, checked: {line}.x"
    assert {use.checked for use in PRIVATE_NAMES} == {CHECKED_AGAINST}


@pytest.mark.parametrize("use", PRIVATE_NAMES, ids=label)
def test_private_name_is_unchanged(use: PrivateName) -> None:
    value = getattr(use.owner, use.name, None)
    if callable(value):
        digest = hashlib.sha256(inspect.getsource(value).encode()).hexdigest()[:16]
        assert digest == SOURCE_FINGERPRINTS[label(use)], f"singer-sdk changed {label(use)}"
    elif value is None:
        # An instance attribute: the SDK class must still set it in __init__.
        assert isinstance(use.owner, type)
        init = inspect.getsource(use.owner.__init__)  # type: ignore[misc]
        assert re.search(rf"self\.{use.name}\b.*=", init), f"{label(use)} is no longer set"
    else:
        assert value == "progress_markers"


def test_every_fingerprinted_name_is_listed() -> None:
    listed = {label(use) for use in PRIVATE_NAMES}
    assert set(SOURCE_FINGERPRINTS) <= listed


def test_no_other_tap_module_names_a_private_sdk_name() -> None:
    names = {use.name for use in PRIVATE_NAMES}
    private_import = re.compile(r"singer_sdk[\w.]*\._\w")
    for module in TAP_PACKAGE.glob("*.py"):
        if module.name == "sdk_compat.py":
            continue
        text = module.read_text(encoding="utf-8")
        for name in names:
            assert not re.search(rf"\.{name}\b", text), f"{module.name} uses {name}"
        assert not private_import.search(text), f"{module.name} imports a private SDK module"


def test_subclasses_bind_the_per_record_names_unless_they_override_them() -> None:
    class Writes(CompatStream):
        def write_record(self, record: dict) -> None:
            """A stream's own RECORD step."""

    class OwnPrivateStep(CompatStream):
        def _write_record_message(self, record: dict) -> None:
            """A stream that overrides the private name itself."""

    assert Writes._write_record_message is Writes.write_record
    assert Writes._increment_stream_state is Writes.advance_bookmark
    assert OwnPrivateStep._write_record_message is not OwnPrivateStep.write_record
    assert OwnPrivateStep._increment_stream_state is OwnPrivateStep.advance_bookmark
