"""How the plugins' console scripts start: their modules load with the collector paused.

Importing singer-sdk and its dependencies creates some ninety thousand tracked objects (modules,
classes, functions, compiled patterns) that live as long as the process. While they are being
created the cyclic garbage collector runs over a hundred times and walks them each time,
finding next to nothing to free: a large share of the time a tap or target takes to start
(benchmarks/README.md, "Start-up", has the figures). The console scripts load their
plugin with the collector paused and then freeze what was loaded (``gc.freeze``: moved out of
the collector's generations), so neither the start nor later collections walk it again.
Everything created afterwards is collected as usual.
"""

from __future__ import annotations

import gc
import importlib

from recras_api.plugin.termination import Stopped, stop_signals


def run_plugin_cli(module: str, plugin_class: str) -> None:
    """Import ``module`` with the collector paused, freeze what was loaded, run the CLI.

    The console scripts pause the collector themselves before they import this module (its
    package loads requests and msgspec); it is paused here again for any other caller, and
    is on once the plugin runs, whoever paused it.
    """
    stop_signals.ignore_once_exiting()
    gc.disable()
    try:
        plugin = getattr(importlib.import_module(module), plugin_class)
        gc.freeze()
    finally:
        gc.enable()
    try:
        plugin.cli()  # click ends it with SystemExit
    except Stopped as stop:
        # Whatever the run owed its reader is written (recras_api.plugin.termination).
        stop_signals.finish(stop)
    finally:
        stop_signals.run_complete()
