"""The ``target-recras`` command (also ``python -m target_recras``)."""

from __future__ import annotations

from recras_api.startup import run_plugin_cli


def main() -> None:
    """Run target-recras's command line."""
    run_plugin_cli("target_recras.target", "TargetRecras")


if __name__ == "__main__":
    main()
