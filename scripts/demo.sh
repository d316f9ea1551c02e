#!/usr/bin/env bash
# The demo in one command: installs what it needs (the project in .venv, Meltano in
# .venv-meltano, the Meltano plugins in .meltano/), starts a seeded Recras sandbox, runs the
# hourly job Recras -> DuckDB twice (the second run moves only new customers, bookings and
# recent invoices) and the nightly job once (full table, the reference tables), runs the sample
# export into Recras, prints a report and stops the sandbox. Needs Python 3.11+ and a package
# registry; no Recras account. Every run starts from scratch in output/demo/.
#
# Usage: ./scripts/demo.sh [--customers N] [--bookings N] [--add N] [--seed N] [--workdir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
VENV="${VENV:-.venv}"

ensure_venv "$VENV"
if ! "$VENV/bin/python" -I -c "import recras_sandbox.testing, tap_recras, target_recras" 2>/dev/null; then
    echo "==> installing the project into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e .
fi
compile_sources "$VENV"
./scripts/install_meltano.sh tap-recras target-recras tap-jsonl target-duckdb
exec "$VENV/bin/python" scripts/recras_demo.py "$@"
