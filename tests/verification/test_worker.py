"""A real Celery worker on the configured broker runs the product's tasks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import wait_for
from verification.models import WorkerHeartbeat
from verification.tasks import record_heartbeat_task


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_sent_through_the_broker(celery_worker):
    sent_at = timezone.now()

    record_heartbeat_task.delay()

    beat = wait_for(lambda: WorkerHeartbeat.objects.filter(seen_at__gte=sent_at).first())
    assert beat.hostname.startswith("lossproof-test-")


def nice_of(pid: int) -> int:
    """The nice value of a process, field 19 of /proc/PID/stat (after the parenthesised name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def children_of(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def own_nice() -> int:
    """This test process's nice value: a worker it starts begins there (CI may run niced)."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def test_a_worker_and_its_pool_run_at_worker_nice(celery_worker):
    pool = wait_for(lambda: children_of(celery_worker.pid))
    expected = max(settings.WORKER_NICE, own_nice())  # the worker shares this process's environment

    assert nice_of(celery_worker.pid) == expected
    assert [nice_of(pid) for pid in pool] == [expected] * len(pool)


def start_worker_init(*, env: dict[str, str], prefix: tuple[str, ...] = ()) -> int:
    """Send worker_init the way `celery worker` does, in a process of its own; return its nice value."""
    code = ("import os, django; django.setup(); from celery.signals import worker_init; "
            "from config.celery import app; worker_init.send(sender=None); "
            "print(os.getpriority(os.PRIO_PROCESS, 0))")
    done = subprocess.run([*prefix, sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True,
                          text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
                          timeout=60, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize(("worker_nice", "started_at", "nice"), [
    (7, 0, 7),
    (0, 0, 0),  # 0: the priority it was started with
    (7, 12, 12),  # started lower still: kept
])
def test_a_worker_lowers_its_priority_to_worker_nice_and_never_raises_it(worker_nice, started_at, nice):
    own = own_nice()
    prefix = ("nice", "-n", str(started_at)) if started_at else ()

    found = start_worker_init(env={"WORKER_NICE": str(worker_nice)}, prefix=prefix)

    assert found == max(nice, min(own + started_at, 19), own)
