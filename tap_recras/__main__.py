"""The ``tap-recras`` command (also ``python -m tap_recras``)."""

from __future__ import annotations

from recras_api.startup import run_plugin_cli


def main() -> None:
    """Run tap-recras's command line."""
    run_plugin_cli("tap_recras.tap", "TapRecras")


if __name__ == "__main__":
    main()
