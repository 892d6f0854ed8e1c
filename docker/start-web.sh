#!/usr/bin/env bash
# Web process: bring the schema up to date, then hand this process over to gunicorn.
# Run one web container while migrating; see docs/scaling.md before running several.
set -euo pipefail
cd "$(dirname "$0")/.."

python manage.py migrate --noinput

# config/gunicorn.conf.py: the project loaded once before the workers fork, heartbeat files on memory.
exec gunicorn config.wsgi \
    --config config/gunicorn.conf.py \
    --bind 0.0.0.0:8000 \
    --workers "${WEB_CONCURRENCY:-2}" \
    --access-logfile -
