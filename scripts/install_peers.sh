#!/usr/bin/env bash
# Installs the peers the connectors are tested with, each into its own virtual environment
# (never the project's .venv):
# - PyAirbyte (the `airbyte` package) into .venv-airbyte: it pins airbyte-cdk, whose `backoff`
#   overwrites python-backoff's files, and many libraries. tests/e2e/test_pyairbyte.py runs
#   source-recras and destination-recras from the project's .venv through it.
# - Dagster with dagster-meltano into .venv-dagster, every package pinned by
#   orchestrate/dagster/requirements.txt. tests/e2e/test_dagster.py runs the Meltano project's
#   hourly job through it (Meltano itself stays in .venv-meltano).
# Idempotent: a second run only checks the versions.
#
# Usage: ./scripts/install_peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
AIRBYTE_VENV="${AIRBYTE_VENV:-.venv-airbyte}"
DAGSTER_VENV="${DAGSTER_VENV:-.venv-dagster}"
DAGSTER_REQUIREMENTS="orchestrate/dagster/requirements.txt"
PYAIRBYTE_VERSION="0.71.3"
UV_VERSION="0.13.9"

ensure_venv "$AIRBYTE_VENV"
if [ ! -x "$AIRBYTE_VENV/bin/uv" ]; then
    echo "==> installing uv $UV_VERSION into $AIRBYTE_VENV"
    "$AIRBYTE_VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi
installed="$("$AIRBYTE_VENV/bin/python" -c \
    'import importlib.metadata as m; print(m.version("airbyte"))' 2>/dev/null || true)"
if [ "$installed" != "$PYAIRBYTE_VERSION" ]; then
    echo "==> installing PyAirbyte (airbyte $PYAIRBYTE_VERSION) into $AIRBYTE_VENV"
    "$AIRBYTE_VENV/bin/uv" pip install --quiet --python "$AIRBYTE_VENV/bin/python" \
        "airbyte==$PYAIRBYTE_VERSION"
fi

ensure_venv "$DAGSTER_VENV"
if [ ! -x "$DAGSTER_VENV/bin/uv" ]; then
    echo "==> installing uv $UV_VERSION into $DAGSTER_VENV"
    "$DAGSTER_VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi
# With every pin met this checks them in well under a second, prints nothing and installs
# nothing; a changed pin in requirements.txt is installed on the next run.
"$DAGSTER_VENV/bin/uv" pip install --quiet --python "$DAGSTER_VENV/bin/python" \
    -r "$DAGSTER_REQUIREMENTS"
