#!/usr/bin/env bash
# Web process: bring the schema up to date, then hand this process over to gunicorn.
# Run one web container while migrating; see docs/scaling.md before running several.
set -euo pipefail
cd "$(dirname "$0")/.."

python manage.py migrate --noinput

# --worker-tmp-dir: gunicorn's heartbeat file on memory, not on the container's overlay disk.
exec gunicorn config.wsgi \
    --bind 0.0.0.0:8000 \
    --workers "${WEB_CONCURRENCY:-2}" \
    --access-logfile - \
    --worker-tmp-dir /dev/shm
