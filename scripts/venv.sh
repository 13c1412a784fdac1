# Sourced by run.sh and test.sh: make sure .venv exists and holds the given requirements file.
# Re-installs only when a requirements*.txt changed since the last install.

ensure_venv() {
    local requirements="$1"
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "error: $python not found; install Python 3.11 or newer (or set PYTHON=/path/to/python3)" >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            echo "error: durableflows needs Python >= 3.11; $python is $("$python" --version 2>&1)." \
                 "Set PYTHON=/path/to/python3.11 (or newer)." >&2
            exit 1
        fi
        echo "==> creating .venv ($("$python" --version 2>&1))"
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-$(basename "$requirements")"
    local digest
    digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
        echo "==> installing $requirements into .venv"
        .venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r "$requirements"
        echo "$digest" > "$stamp"
    fi
    export VIRTUAL_ENV="$PWD/.venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
    unset PYTHONHOME
}
