"""A real Celery worker on the configured broker runs the product's tasks."""

import pytest
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
