#!/usr/bin/env bash
# The one test command: installs everything the suite needs, then runs ruff, mypy and pytest.
# Usage: ./scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
VENV="${VENV:-.venv}"

ensure_venv "$VENV"
echo "==> installing the project with its dev tools"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
compile_sources "$VENV"

# The Meltano end-to-end tests (tests/e2e/test_meltano_demo.py) need a PostgreSQL server (they start
# a private cluster on a free port) and Meltano in its own venv with the plugins.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    echo "==> installing PostgreSQL"
    SUDO=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo -n"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql >/dev/null
fi
./scripts/install_meltano.sh
./scripts/install_peers.sh

echo "==> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "==> mypy"
"$VENV/bin/mypy"
echo "==> pytest"
# Three workers: most tests wait on sandboxes, retries and subprocesses, not on the 2 cores.
# Files that run Meltano in this checkout share one xdist_group, so they never overlap.
"$VENV/bin/pytest" -n "${PYTEST_WORKERS:-3}" --dist loadgroup "$@"
