#!/usr/bin/env bash
# Celery worker: consumes the queues named in WORKER_QUEUES (settings: CELERY_*, config/queues.py).
#   WORKER_QUEUES=all (default): every queue; or a comma-separated choice of
#   base,chain,evidence,exports,mail, e.g. "chain" on hosts near the chain endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."

base="${CELERY_TASK_DEFAULT_QUEUE:-lossproof}"
wanted="${WORKER_QUEUES:-all}"
[ "$wanted" = all ] && wanted="base,chain,evidence,exports,mail"
queues=()
IFS=',' read -ra kinds <<<"$wanted"
for kind in "${kinds[@]}"; do
  case "$kind" in
    base) queues+=("$base") ;;
    chain|evidence|exports|mail) queues+=("$base.$kind") ;;
    *) echo "WORKER_QUEUES: unknown queue kind '$kind' (all, base, chain, evidence, exports, mail)" >&2; exit 2 ;;
  esac
done

exec celery -A config worker \
    --loglevel=INFO \
    --concurrency "${WORKER_CONCURRENCY:-2}" \
    -Q "$(IFS=','; echo "${queues[*]}")"
