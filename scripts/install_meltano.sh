#!/usr/bin/env bash
# Installs Meltano into its own virtual environment (.venv-meltano, never the project's .venv)
# and then the Meltano plugins named as arguments (all plugins of meltano.yml without
# arguments). Idempotent: a second run only checks that everything is in place.
#
# Usage: ./scripts/install_meltano.sh [plugin ...]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/venv.sh
source scripts/venv.sh
MELTANO_VENV="${MELTANO_VENV:-.venv-meltano}"
MELTANO_VERSION="4.4.1"
UV_VERSION="0.13.9"

ensure_venv "$MELTANO_VENV"
if [ ! -x "$MELTANO_VENV/bin/uv" ]; then
    echo "==> installing uv $UV_VERSION into $MELTANO_VENV"
    "$MELTANO_VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi
# The postgres extra: Meltano's system database (state) in PostgreSQL, MELTANO_DATABASE_URI.
if [ "$("$MELTANO_VENV/bin/meltano" --version 2>/dev/null || true)" != "meltano, version $MELTANO_VERSION" ] \
    || ! "$MELTANO_VENV/bin/python" -c "import psycopg" 2>/dev/null; then
    echo "==> installing meltano[postgres] $MELTANO_VERSION into $MELTANO_VENV"
    "$MELTANO_VENV/bin/uv" pip install --quiet --python "$MELTANO_VENV/bin/python" \
        "meltano[postgres]==$MELTANO_VERSION"
fi

export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
# Meltano installs each plugin into .meltano/<type>/<name>/venv with uv.
echo "==> meltano install ${*:-(all plugins)}"
"$MELTANO_VENV/bin/meltano" install "$@"
