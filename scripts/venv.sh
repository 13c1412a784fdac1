# Sourced by run.sh and test.sh: make sure the virtualenv exists and holds the given requirements file.
# Re-installs only when a requirements*.txt (or the set of files to install) changed since the last install.
#
#   VENV=.venv-django6 PYTHON=python3.12 EXTRA_REQUIREMENTS=requirements-django6.txt ./test.sh
#
# VENV        where the virtualenv lives (default .venv)
# PYTHON      the interpreter that creates it (default python3)
# EXTRA_REQUIREMENTS  requirements files installed afterwards, one pip run each, so their pins
#             replace those of the main file (requirements-django6.txt: Django 6 instead of 5.2 LTS);
#             give such a set a VENV of its own
# With DATABASE_URL=mysql://... the MariaDB/MySQL driver (requirements-mysql.txt) is installed too;
# it compiles against libmariadb-dev (or libmysqlclient-dev) and needs pkg-config.

ensure_venv() {
    local requirements="$1"
    local python="${PYTHON:-python3}"
    local venv="${VENV:-.venv}"
    local files=("$requirements")
    case "${DATABASE_URL:-}" in
        mysql*|mariadb*) files+=(requirements-mysql.txt) ;;
    esac
    local extras=()
    read -r -a extras <<< "${EXTRA_REQUIREMENTS:-}"
    if [ ! -x "$venv/bin/python" ]; then
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "error: durableflows needs Python >= 3.11; $python is $("$python" --version 2>&1 || echo 'not found')." \
                 "Set PYTHON=/path/to/python3.11 (or newer)." >&2
            exit 1
        fi
        echo "==> creating $venv ($("$python" --version 2>&1))"
        "$python" -m venv "$venv"
    fi
    local installs=("${files[@]}" "${extras[@]}")  # one stamp per set of files, so legs that differ don't reinstall
    local stamp="$venv/.installed-$(IFS=+; echo "${installs[*]##*/}")"
    local digest
    digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
        local pip=("$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q)
        echo "==> installing ${files[*]} into $venv"
        local args=()
        for file in "${files[@]}"; do args+=(-r "$file"); done
        "${pip[@]}" "${args[@]}"
        for file in "${extras[@]}"; do
            echo "==> installing $file into $venv (its pins replace the ones above)"
            "${pip[@]}" -r "$file"
        done
        echo "$digest" > "$stamp"
    fi
    VIRTUAL_ENV="$(cd "$venv" && pwd)"
    export VIRTUAL_ENV
    export PATH="$VIRTUAL_ENV/bin:$PATH"
    unset PYTHONHOME
}
