"""The private singer-sdk names the project relies on, all listed in the three sdk_compat modules.

Each listed name carries the fingerprint of its source in the singer-sdk release the project
was checked against: a release that renames, removes or changes one fails here, naming it,
instead of a plugin silently skipping a step. No module, test or benchmark names a private SDK
name that is not listed, and the SDK still calls the names the plugins override.
"""

from __future__ import annotations

import inspect
import io
import re
from contextlib import redirect_stdout
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from singer_sdk import Stream, Tap, metrics
from singer_sdk.plugin_base import BaseSingerReader, PluginBase
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target
from support.paths import ROOT
from support.target import customer, singer_input

import airbyte_recras
import recras_api
import tap_recras
import target_recras
from recras_api.plugin import sdk_compat as plugin_compat
from recras_api.plugin.sdk_compat import (
    CHECKED_SDK_VERSION,
    PrivateName,
    SecretSafeConfigValidation,
)
from tap_recras import sdk_compat as tap_compat
from tap_recras.sdk_compat import CompatStream
from tap_recras.tap import TapRecras
from target_recras import sdk_compat as target_compat
from target_recras.sdk_compat import SDKMessageHooks
from target_recras.sinks import KlantenSink
from target_recras.target import TargetRecras

COMPAT_MODULES = (plugin_compat, tap_compat, target_compat)
EVERY_NAME: tuple[PrivateName, ...] = tuple(
    use for module in COMPAT_MODULES for use in module.PRIVATE_NAMES
)
#: A private module of the SDK imported by name (``singer_sdk.helpers._catalog``).
PRIVATE_IMPORT = re.compile(r"singer_sdk[\w.]*\.(_(?!_)\w+)|from singer_sdk[\w.]* import (_\w+)")
#: Each package and the SDK classes it builds on: a private name of one of those classes named
#: in the package is an SDK internal (names of other classes may be the package's own).
SDK_BASES: dict[Any, tuple[type, ...]] = {
    recras_api: (PluginBase,),
    tap_recras: (Stream, Tap, metrics.Counter),
    target_recras: (Target, Sink),
    airbyte_recras: (Tap, Target),
}


def _sdk_private_names(*bases: type) -> set[str]:
    """Private methods and attributes of SDK classes (and their SDK bases)."""
    names: set[str] = set()
    for klass in {k for base in bases for k in base.__mro__}:
        if klass.__module__.startswith("singer_sdk"):
            names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
            names |= set(re.findall(r"self\.(_[a-z]\w*)", inspect.getsource(klass)))
    return names


def _unlisted_private_names(text: str, names: set[str], listed: set[str]) -> set[str]:
    """Which of the private SDK ``names`` (or private SDK modules) a text uses, unless listed.

    A module-level function of the text is its own, whatever its name.
    """
    used = {n for n in names if re.search(rf"(\.|def ){re.escape(n)}\b", text)}
    used |= {a or b for a, b in PRIVATE_IMPORT.findall(text)}
    return used - listed - set(re.findall(r"^def (_\w+)", text, re.MULTILINE))


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.name != "sdk_compat.py")


def test_the_installed_sdk_is_the_release_line_every_name_was_checked_against() -> None:
    line = ".".join(CHECKED_SDK_VERSION.split(".")[:2])
    assert version("singer-sdk").startswith(line + "."), f"checked against {CHECKED_SDK_VERSION}"


@pytest.mark.parametrize("use", EVERY_NAME, ids=lambda use: use.label)
def test_a_listed_private_name_is_unchanged(use: PrivateName) -> None:
    installed = use.installed_fingerprint()
    assert installed is not None, f"singer-sdk no longer has {use.label}"
    assert installed == use.fingerprint, (
        f"singer-sdk changed {use.label} ({use.use}): review the sdk_compat.py that lists it"
    )


def test_the_scan_sees_the_private_names_it_looks_for() -> None:
    names = _sdk_private_names(Target, Stream)
    assert {"_sinks_active", "_latest_state", "_tap", "_write_record_message"} <= names
    text = "x._tap\nfrom singer_sdk.helpers._catalog import y\nfrom singer_sdk.x import _z"
    assert _unlisted_private_names(text, names, set()) == {"_tap", "_catalog", "_z"}


@pytest.mark.parametrize("package", SDK_BASES, ids=lambda package: package.__name__)
def test_no_module_outside_the_compat_modules_names_a_private_sdk_name(package: Any) -> None:
    names = _sdk_private_names(*SDK_BASES[package])
    offenders = {
        str(path.relative_to(ROOT)): used
        for path in _sources(Path(package.__file__).parent)
        if (used := _unlisted_private_names(path.read_text("utf-8"), names, set()))
    }
    assert offenders == {}


def test_tests_and_benchmarks_name_only_listed_private_sdk_names() -> None:
    names = _sdk_private_names(*{base for bases in SDK_BASES.values() for base in bases})
    listed = {use.name for use in EVERY_NAME} | {"_catalog", "_state"}
    offenders = {
        str(path.relative_to(ROOT)): used
        for folder in (ROOT / "tests", ROOT / "benchmarks")
        for path in _sources(folder)
        if path != Path(__file__)
        if (used := _unlisted_private_names(path.read_text("utf-8"), names, listed))
    }
    assert offenders == {}


# -- recras_api.plugin.sdk_compat: config validation --------------------------------------


def test_the_sdk_still_validates_config_through_the_override_in_both_plugins() -> None:
    assert "self._validate_config(raise_errors=" in inspect.getsource(PluginBase.__init__)
    for plugin in (TapRecras, TargetRecras):
        assert plugin._validate_config is SecretSafeConfigValidation._validate_config
    assert inspect.signature(SecretSafeConfigValidation._validate_config) == inspect.signature(
        PluginBase._validate_config
    )


# -- tap_recras.sdk_compat: the per-record steps ------------------------------------------


def test_stream_subclasses_bind_the_per_record_names_unless_they_override_them() -> None:
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


# -- target_recras.sdk_compat: the message callbacks --------------------------------------


def test_the_sdk_still_routes_messages_and_state_through_the_overridden_names() -> None:
    routing = inspect.getsource(BaseSingerReader.process_lines)
    overridden = [u.name for u in target_compat.PRIVATE_NAMES if u.owner is Target]
    for name in (n for n in overridden if n.startswith("_process_")):
        assert f"self.{name}" in routing, name
    assert "self._write_state_message(" in inspect.getsource(Target.drain_all)


def test_the_target_overrides_every_listed_target_name_and_nothing_else() -> None:
    for use in target_compat.PRIVATE_NAMES:
        if use.owner is Target:
            assert use.name in vars(SDKMessageHooks), use.name
    assert issubclass(TargetRecras, SDKMessageHooks)
    own = {n for n in vars(TargetRecras) if n.startswith("_") and n[1] != "_" and n != "_abc_impl"}
    assert not {n for n in own if hasattr(Target, n)}


class HookedSink(KlantenSink):
    """Turns a numeric name into text before validation; counts the post-record hook."""

    after_hook_calls = 0

    def preprocess_record(self, record: dict, context: dict) -> dict:
        return {**record, "naam": str(record["naam"])}

    def _after_process_record(self, context: dict) -> None:
        type(self).after_hook_calls += 1
        super()._after_process_record(context)


class HookedTarget(TargetRecras):
    def get_sink_class(self, stream_name: str) -> type[Any]:
        return HookedSink


def test_the_sinks_public_hooks_fire_on_the_record_path(tmp_path: Path) -> None:
    records = [customer(1), customer(2, naam=2)]
    config = {"dry_run": True, "rejects_path": str(tmp_path / "rejects.jsonl")}
    target = HookedTarget(config={"base_url": "https://recras.invalid", **config})
    with redirect_stdout(io.StringIO()):
        target.listen(io.StringIO(singer_input(records, key_properties=[])))
    # Without preprocess_record the second record is rejected (naam 2 is not a string).
    assert target.open_session().stats.counts["would_create"] == 2
    assert not (tmp_path / "rejects.jsonl").exists()
    assert HookedSink.after_hook_calls == 2
