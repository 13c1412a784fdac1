#!/usr/bin/env bash
# Run the demo: one command on a fresh machine, nothing to set.
#
# Creates .venv and installs the requirements (first run only), migrates the
# database (SQLite in var/ unless DATABASE_URL is set), creates the demo
# superuser admin/admin, starts a Celery worker in the background (it runs the
# workflows, the activities and the housekeeping) and the Django development
# server in the foreground. Ctrl-C stops both. PORT=8001 ./run.sh picks another port; it listens
# on 127.0.0.1 unless HOST=0.0.0.0 asks for every interface.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv requirements.txt

PORT="${PORT:-8000}"
# The demo has DEBUG on and the superuser admin/admin: it listens on this machine only unless HOST says otherwise.
HOST="${HOST:-127.0.0.1}"
mkdir -p var
WORKER_LOG="${DJANGO_VAR_DIR:-var}/worker.log"
mkdir -p "$(dirname "$WORKER_LOG")"

echo "==> migrating the database (${DATABASE_URL:-SQLite: ${DJANGO_VAR_DIR:-var}/db.sqlite3})"
python manage.py migrate --noinput

python manage.py shell --no-imports -c '
from django.contrib.auth import get_user_model
User = get_user_model()
if User.objects.filter(username="admin").exists():
    print("==> demo superuser admin already exists (password unchanged)")
else:
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    print("==> created the demo superuser: username admin, password admin (for this local demo only)")
'

WORKER_PID=""
SERVER_PID=""
stop_process() {  # stop_process PID NAME: SIGTERM, then SIGKILL after 10 s
    local pid="$1" name="$2"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "==> stopping the $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}
cleanup() {
    stop_process "$SERVER_PID" "web server"
    stop_process "$WORKER_PID" "Celery worker"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

echo "==> starting the Celery worker: celery -A project worker -l info (log: $WORKER_LOG)"
: > "$WORKER_LOG"
celery -A project worker -l info >>"$WORKER_LOG" 2>&1 &
WORKER_PID=$!
for _ in $(seq 1 600); do
    grep -q "ready\." "$WORKER_LOG" && break
    if ! kill -0 "$WORKER_PID" 2>/dev/null; then
        echo "error: the Celery worker exited; its log:" >&2
        tail -n 50 "$WORKER_LOG" >&2
        exit 1
    fi
    sleep 0.1
done

cat <<BANNER

  durableflows demo is starting on port $PORT
    demo page:  http://127.0.0.1:$PORT/
    admin:      http://127.0.0.1:$PORT/admin/   (admin / admin)
    worker log: $WORKER_LOG
  Press Ctrl-C to stop the web server and the worker.

BANNER
# In the background and waited for, so Ctrl-C or a SIGTERM to this script stops both processes at once.
python manage.py runserver --noreload "$HOST:$PORT" &
SERVER_PID=$!
wait "$SERVER_PID"
