#!/usr/bin/env bash
# Installs PyAirbyte (the `airbyte` package) into its own virtual environment
# (.venv-airbyte, never the project's .venv: PyAirbyte pins airbyte-cdk, whose `backoff`
# overwrites python-backoff's files, and many libraries). tests/test_eco_pyairbyte.py runs
# source-recras and destination-recras from the project's .venv through it.
# Idempotent: a second run only checks the version.
#
# Usage: ./scripts/install_peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
AIRBYTE_VENV="${AIRBYTE_VENV:-.venv-airbyte}"
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
