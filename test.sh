#!/usr/bin/env bash
# Run every check: ruff, mypy, the docs build, the migration check, then pytest (extra arguments go to pytest).
#
#   ./test.sh                     # SQLite + the embedded filesystem broker, nothing to set up
#   ./test.sh -k kill -x          # pytest arguments pass through
#   DATABASE_URL=postgres://u:p@127.0.0.1:5432/db CELERY_BROKER_URL=redis://127.0.0.1:6379/0 ./test.sh
#
# DURABLEFLOWS_REQUIRE_SERVICES=1 turns "Redis/PostgreSQL unreachable" skips into failures (CI sets it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv requirements-dev.txt

echo "==> database: ${DATABASE_URL:-SQLite (default)}; broker: ${CELERY_BROKER_URL:-filesystem (default)}"
# Every check runs even when an earlier one fails, so one run reports everything; the exit code is
# non-zero if any failed (pytest's own code when only pytest failed).
failed=()
echo "==> ruff check ."
ruff check . || failed+=("ruff")
echo "==> mypy"
mypy || failed+=("mypy")
echo "==> mkdocs build --strict"
site_dir="$(mktemp -d)"
mkdocs build --strict --site-dir "$site_dir" || failed+=("mkdocs build")
rm -rf "$site_dir"
echo "==> manage.py makemigrations --check --dry-run"
python manage.py makemigrations --check --dry-run || failed+=("makemigrations --check")
echo "==> pytest $*"
status=0
python -m pytest "$@" || status=$?
if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> FAILED besides pytest: ${failed[*]}" >&2
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
