"""Beat started twice sends periodic tasks once; the standby takes over when the first stops."""

import os
import signal
import subprocess
import sys
import uuid

import pytest
from django.conf import settings

from config.celery import app as celery_app
from operations.beat import beat_lease_hold
from operations.models import BeatLease
from tests.conftest import _test_database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
SENT = "Sending due task recheck-unsettled-claims"


def test_of_two_holders_only_the_first_holds_the_lease_until_it_lapses():
    assert beat_lease_hold(holder="a", seconds=60)
    assert not beat_lease_hold(holder="b", seconds=60)
    assert beat_lease_hold(holder="a", seconds=60)  # renewing
    BeatLease.objects.update(renewed_at=BeatLease.objects.get().renewed_at.replace(year=2000))
    assert beat_lease_hold(holder="b", seconds=60)
    assert not beat_lease_hold(holder="a", seconds=60)


def start_beat(tmp_path, name: str, queue: str) -> tuple[subprocess.Popen, object]:
    env = {**os.environ, "DATABASE_URL": _test_database_url(),
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "CELERY_TASK_DEFAULT_QUEUE": queue,
           "BEAT_LEASE_SECONDS": "3", "RECHECK_INTERVAL_SECONDS": "5"}
    log = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
               "--schedule", str(tmp_path / f"{name}-schedule")]
    with open(log, "wb") as handle:
        # A session of its own: stopping it stops anything it started, whatever path the test takes.
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   cwd=settings.BASE_DIR, start_new_session=True)
    return process, log


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_two_beats_send_once_and_the_standby_takes_over(tmp_path):
    queue = f"beat-{uuid.uuid4().hex[:8]}"  # consumed by nobody: only the sending is observed
    first, first_log = start_beat(tmp_path, "first", queue)
    second = None
    try:
        wait_for(lambda: SENT in first_log.read_text(), timeout=60)
        second, second_log = start_beat(tmp_path, "second", queue)
        wait_for(lambda: first_log.read_text().count(SENT) >= 3, timeout=60)
        assert SENT not in second_log.read_text()  # running, but waiting for the lease
        stop(first)
        wait_for(lambda: SENT in second_log.read_text(), timeout=60)
        assert "took the lease" in second_log.read_text()
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
        _purge(f"{queue}.chain")


def _purge(name: str) -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=name)
        conn.default_channel.queue_purge(name)
