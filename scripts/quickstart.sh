#!/usr/bin/env bash
# `make run`: migrate, seed the demo, start a Celery worker (with beat) and the web server.
# Embedded defaults: SQLite and a filesystem broker under var/ (STEPWISE_VAR_DIR);
# DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
VAR="${STEPWISE_VAR_DIR:-var}"
mkdir -p "$VAR/log"

$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py seed_demo

$BIN/celery -A config worker --beat --schedule "$VAR/celerybeat-schedule" --loglevel info \
    --concurrency "${WORKER_CONCURRENCY:-2}" >"$VAR/log/worker.log" 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
sleep 2
kill -0 $WORKER 2>/dev/null || { echo "the Celery worker did not start; see $VAR/log/worker.log" >&2; exit 1; }

cat <<MSG

  Stepwise is running at  http://$HOST:$PORT/
  Django admin:           http://$HOST:$PORT/admin/ (superusers only: .venv/bin/python manage.py createsuperuser)
  Worker log:             $VAR/log/worker.log (pid $WORKER)
  Log in with one of the demo logins printed above. Ctrl-C stops everything.

MSG
# gunicorn.conf.py formats its own lines like the app's (LOG_FORMAT); the app logs one line per request
$BIN/gunicorn config.wsgi:application --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}"
