"""The customer list of an older tap-recras against today's, beside requests + msgspec.

    git archive <commit> | tar -x -C /tmp/base
    .venv/bin/python benchmarks/tap_before_after.py /tmp/base [--repeat 5]

Both taps run in this venv, alternated with ``tap_plain.py --msgspec`` in each round against
one sandbox of 100,000 customers; the best time of each is printed with its ratio. Each tap
runs through this file's ``--run-tree`` mode, which drops the editable install's finder and
imports ``tap_recras`` from the tree it is given, checks that it did (a tree on
``PYTHONPATH`` alone can lose to the current directory), and starts the tap the way that
tree's ``tap-recras`` script does. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def run_tree(tree: str, tap_argv: list[str]) -> None:
    """Run the tap of ``tree`` with ``tap_argv`` as its console script would (``--run-tree``)."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, tree)
    import tap_recras  # noqa: PLC0415 (imported from the tree just put first)

    if not str(tap_recras.__file__).startswith(tree):
        raise SystemExit(f"tap_recras came from {tap_recras.__file__}, not {tree}")
    sys.argv = ["tap-recras", *tap_argv]
    if (Path(tree) / "tap_recras" / "__main__.py").exists():
        # Trees since c290e90 start through tap_recras.__main__ (recras_api/plugin/startup.py).
        from tap_recras.__main__ import main as start  # noqa: PLC0415
    else:
        from tap_recras.tap import TapRecras  # noqa: PLC0415

        start = TapRecras.cli
    start()


def main() -> None:
    # Imported here, not at the top: they import the checkout's tap_recras, which the
    # --run-tree mode must not have loaded before it imports the tree it is given.
    from tap_benchmark import PLAIN, best_of_alternated, tap_args  # noqa: PLC0415

    from recras_sandbox.testing import SandboxProcess  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_tree", help="an exported older tree (git archive)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (best kept)")
    parser.add_argument("--customers", type=int, default=100_000)
    options = parser.parse_args()
    old_tree = str(Path(options.old_tree).resolve())
    with (
        tempfile.TemporaryDirectory(prefix="tap-before-after-") as tmp,
        SandboxProcess(customers=options.customers) as sandbox,
    ):
        tap_argv = tap_args(Path(tmp), sandbox, persons=False, workers=4)[1:]
        through = [sys.executable, __file__, "--run-tree"]
        plain, old, new = best_of_alternated(
            options.repeat,
            [*PLAIN, sandbox.base_url, sandbox.api_key, "--msgspec"],
            [*through, old_tree, *tap_argv],
            [*through, str(CHECKOUT), *tap_argv],
        )
    print(
        f"plain requests+msgspec: {plain:.2f} s   tap {Path(old_tree).name}: {old:.2f} s "
        f"({old / plain:.2f}x)   tap now: {new:.2f} s ({new / plain:.2f}x)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run-tree"]:
        run_tree(sys.argv[2], sys.argv[3:])
    else:
        main()
