# Sourced by the set-up scripts (test.sh, demo.sh, install_meltano.sh): one way to make a venv.
# Usage: ensure_venv DIR   (creates DIR with $PYTHON, default python3, unless it exists)
ensure_venv() {
    if [ ! -x "$1/bin/python" ]; then
        echo "==> creating virtual environment $1"
        "${PYTHON:-python3}" -m venv "$1"
    fi
}
