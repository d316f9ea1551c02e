"""The singer-sdk internals target-recras relies on (target_recras/sdk_compat.py).

If an SDK upgrade renames, removes or reshapes one of them, these tests fail instead of the
target silently bypassing its own handling. The last test proves the record path calls the
sink's public hooks the way the SDK does.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import re
from contextlib import redirect_stdout
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.plugin_base import BaseSingerReader
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target
from support.target import customer, singer_input

import target_recras
from target_recras.sdk_compat import CHECKED_SDK_VERSION, PRIVATE_METHODS, SDKMessageHooks
from target_recras.sinks import KlantenSink
from target_recras.target import TargetRecras


def test_installed_sdk_is_the_checked_release_line() -> None:
    assert version("singer-sdk").startswith(CHECKED_SDK_VERSION + ".")


@pytest.mark.parametrize(
    ("owner", "name", "params", "digest"),
    PRIVATE_METHODS,
    ids=[name for _, name, _, _ in PRIVATE_METHODS],
)
def test_private_sdk_method_is_unchanged(
    owner: type, name: str, params: tuple[str, ...], digest: str
) -> None:
    method = getattr(owner, name, None)
    assert callable(method), f"singer-sdk no longer has {owner.__name__}.{name}"
    assert tuple(inspect.signature(method).parameters) == params
    source = inspect.getsource(method).encode()
    assert hashlib.sha256(source).hexdigest()[:16] == digest, (
        f"{owner.__name__}.{name} changed in this singer-sdk: review target_recras/sdk_compat.py"
    )


def _sdk_private_names() -> set[str]:
    """Private methods and attributes of the SDK's Target and Sink (and their SDK bases)."""
    names: set[str] = set()
    for klass in (*Target.__mro__, *Sink.__mro__):
        if klass.__module__.startswith("singer_sdk"):
            names |= {n for n in vars(klass) if n.startswith("_") and not n.startswith("__")}
            names |= set(re.findall(r"self\.(_[a-z]\w*)", inspect.getsource(klass)))
    return names


def test_no_other_target_module_names_a_private_sdk_name() -> None:
    names = _sdk_private_names()
    assert {"_sinks_active", "_latest_state", "_get_context"} <= names  # the scan sees them
    package = Path(target_recras.__file__).parent
    for module in sorted(package.glob("*.py")):
        if module.name == "sdk_compat.py":
            continue
        text = module.read_text(encoding="utf-8")
        used = {n for n in names if re.search(rf"(\.|def ){re.escape(n)}\b", text)}
        assert not used, f"{module.name} uses singer-sdk internals {sorted(used)}"


def test_sdk_still_routes_messages_and_state_through_those_names() -> None:
    # The overrides only matter if the SDK still calls them.
    routing = inspect.getsource(BaseSingerReader.process_lines)
    for name in (n for owner, n, *_ in PRIVATE_METHODS if owner is Target and "process" in n):
        assert f"self.{name}" in routing, name
    assert "self._write_state_message(" in inspect.getsource(Target.drain_all)


def test_the_compat_module_overrides_every_target_name_it_lists() -> None:
    for owner, name, *_ in PRIVATE_METHODS:
        if owner is Target:
            assert name in vars(SDKMessageHooks), name
    assert issubclass(TargetRecras, SDKMessageHooks)
    # Nothing else in the target overrides an SDK-private method.
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


def test_sink_hooks_fire_on_the_record_path(tmp_path: Path) -> None:
    records = [customer(1), customer(2, naam=2)]
    config = {"dry_run": True, "rejects_path": str(tmp_path / "rejects.jsonl")}
    target = HookedTarget(config={"base_url": "https://recras.invalid", **config})
    with redirect_stdout(io.StringIO()):
        target.listen(io.StringIO(singer_input(records, key_properties=[])))
    # Without preprocess_record the second record is rejected (naam 2 is not a string).
    assert target.open_session().stats.counts["would_create"] == 2
    assert not (tmp_path / "rejects.jsonl").exists()
    assert HookedSink.after_hook_calls == 2
