"""The ``target-recras`` command (also ``python -m target_recras``)."""

from __future__ import annotations

import gc


def main() -> None:
    """Run target-recras's command line."""
    gc.disable()  # before recras_api (requests, msgspec) loads: recras_api/plugin/startup.py
    from recras_api.plugin.startup import run_plugin_cli  # noqa: PLC0415

    run_plugin_cli("target_recras.target", "TargetRecras")


if __name__ == "__main__":
    main()
