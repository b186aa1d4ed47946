#!/bin/sh
# Entrypoint of the Stepwise image (see Dockerfile and docker-compose.yml):
#   1. wait until the database in DATABASE_URL accepts connections
#      (at most DB_WAIT_TIMEOUT seconds, default 60);
#   2. with RUN_MIGRATIONS=1 (the web service only), apply the migrations;
#   3. exec the command, so that it runs as PID 1 and gets the stop signal.
set -eu

export DB_WAIT_TIMEOUT="${DB_WAIT_TIMEOUT:-60}"

python - <<'PY'
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.db.utils import OperationalError  # noqa: E402

deadline = time.monotonic() + float(os.environ["DB_WAIT_TIMEOUT"])
while True:
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        if time.monotonic() >= deadline:
            sys.exit(f"entrypoint: database not reachable after {os.environ['DB_WAIT_TIMEOUT']}s: {exc}")
        print(f"entrypoint: waiting for the database ({exc.__class__.__name__})", file=sys.stderr, flush=True)
        time.sleep(1)
    else:
        connection.close()
        break
PY

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
