#!/usr/bin/env bash
# Celery beat: sends the periodic tasks in settings.CELERY_BEAT_SCHEDULE. One is enough; a
# second one waits for the first's lease in the database (operations.beat) and sends nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The same default as settings.VAR_DIR when the variable is unset (a checkout, not the image).
var_dir="${LOSSPROOF_VAR_DIR:-$PWD/var}"
mkdir -p "$var_dir"

exec celery -A config beat \
    --loglevel=INFO \
    --schedule "$var_dir/celerybeat-schedule"
