"""The ``tap-recras`` command (also ``python -m tap_recras``)."""

from __future__ import annotations

import gc


def main() -> None:
    """Run tap-recras's command line."""
    gc.disable()  # before recras_api (requests, msgspec) loads: recras_api/plugin/startup.py
    from recras_api.plugin.startup import run_plugin_cli  # noqa: PLC0415

    run_plugin_cli("tap_recras.tap", "TapRecras")


if __name__ == "__main__":
    main()
