"""The console scripts load their plugin with the collector paused, then freeze it.

Timing stays out of tests (benchmarks/README.md, "Start-up", has the numbers); what is held
here is what must not go wrong: the plugin runs with the collector on, what was loaded is
frozen, an import that fails leaves the collector as it found it, and the installed commands
go through this start.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recras_api.plugin.startup import run_plugin_cli

PLUGIN_MODULE = """
import gc

class Plugin:
    seen = None

    @classmethod
    def cli(cls):
        cls.seen = (gc.isenabled(), gc.get_freeze_count())
"""


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "startup_probe_plugin.py").write_text(PLUGIN_MODULE)
    (tmp_path / "startup_probe_broken.py").write_text("raise ImportError('broken install')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "startup_probe_plugin"
    gc.unfreeze()
    for name in ("startup_probe_plugin", "startup_probe_broken"):
        sys.modules.pop(name, None)


def test_the_plugin_runs_with_the_collector_on_and_what_was_loaded_frozen(
    plugin_module: str,
) -> None:
    run_plugin_cli(plugin_module, "Plugin")

    enabled, frozen = sys.modules[plugin_module].Plugin.seen
    assert enabled
    assert frozen > 0


def test_a_failed_import_turns_the_collector_back_on(plugin_module: str) -> None:
    gc.disable()  # as the console scripts do before they import recras_api
    with pytest.raises(ImportError, match="broken install"):
        run_plugin_cli("startup_probe_broken", "Plugin")
    assert gc.isenabled()


PROBE = """
import gc, sys
from {package}.__main__ import main
assert "recras_api" not in sys.modules, "the entry module loads recras_api before the pause"
during_load = []
def watch(phase, info):
    if phase == "start" and "recras_api" in sys.modules and not gc.get_freeze_count():
        during_load.append(info["generation"])
gc.callbacks.append(watch)
sys.argv = ["{command}", "--version"]
try:
    main()
except SystemExit as stop:
    assert stop.code in (0, None), stop.code
assert not during_load, f"collections while the plugin loaded: {{during_load}}"
"""


@pytest.mark.parametrize(
    ("package", "command"), [("tap_recras", "tap-recras"), ("target_recras", "target-recras")]
)
def test_nothing_is_collected_while_a_console_script_loads_its_plugin(
    package: str, command: str
) -> None:
    probe = PROBE.format(package=package, command=command)
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith(f"{command} v")


@pytest.mark.parametrize(
    ("command", "entry"), [("tap-recras", "tap_recras"), ("target-recras", "target_recras")]
)
def test_the_installed_commands_start_through_it(command: str, entry: str) -> None:
    script = Path(sys.executable).with_name(command)
    assert f"from {entry}.__main__ import main" in script.read_text()
    version = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert version.stdout.startswith(f"{command} v")
