#!/usr/bin/env bash
# Celery worker: runs verification and other tasks from one queue (settings: CELERY_*).
set -euo pipefail
cd "$(dirname "$0")/.."

exec celery -A config worker \
    --loglevel=INFO \
    --concurrency "${WORKER_CONCURRENCY:-2}" \
    -Q "${CELERY_TASK_DEFAULT_QUEUE:-lossproof}"
