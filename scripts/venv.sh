# Sourced by the set-up scripts (test.sh, demo.sh, install_meltano.sh): one way to make a venv.
# Usage: ensure_venv DIR   (creates DIR with $PYTHON, default python3, unless it exists)
ensure_venv() {
    if [ ! -x "$1/bin/python" ]; then
        echo "==> creating virtual environment $1"
        "${PYTHON:-python3}" -m venv "$1"
    fi
}

# pip writes bytecode for what it installs, but an editable install runs this checkout's
# sources, which Python compiles again at every start where PYTHONDONTWRITEBYTECODE is set
# (as on these CI machines), at every tap or target start (benchmarks/README.md, "Start-up").
# Compile them once.
# Usage: compile_sources DIR   (DIR: the venv whose Python runs them)
compile_sources() {
    "$1/bin/python" -m compileall -q -j 0 \
        recras_api tap_recras target_recras recras_sandbox airbyte_recras
}
