"""/metrics: values read at scrape time from the database and the broker, behind a bearer token."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from tests.factories import ReportFactory, UserFactory, login_with_second_factor
from verification.models import CheckResult, ProviderCall
from verification.tasks import verify_evidence_task, verify_report_task

pytestmark = pytest.mark.django_db
TOKEN = "scrape-" + "x" * 24


def scrape(**headers) -> dict:
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_need_the_bearer_token(settings):
    settings.METRICS_TOKEN = TOKEN

    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_without_a_token_metrics_are_open_only_in_debug(settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert Client().get("/metrics").status_code == 401
    settings.DEBUG = True
    assert Client().get("/metrics").status_code == 200


@pytest.fixture
def own_queues():
    """Queues no worker consumes, emptied afterwards."""
    base, saved = f"metrics-{uuid.uuid4().hex[:8]}", celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = base
    yield base
    celery_app.conf.task_default_queue = saved
    with celery_app.connection_for_write() as conn:
        for name in (base, f"{base}.chain", f"{base}.evidence"):
            conn.default_channel.queue_declare(queue=name)
            conn.default_channel.queue_purge(name)


def test_it_reports_queue_depth_unchecked_age_provider_errors_and_checks(settings, own_queues):
    settings.METRICS_TOKEN = TOKEN
    verify_report_task.delay(1)
    verify_report_task.delay(2)
    verify_evidence_task.delay(3)
    old = ReportFactory(status="submitted")
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    for ok, ms in [(True, 100), (False, 3000), (False, 500)]:
        ProviderCall.objects.create(chain="eip155:1", provider="https://rpc.example", ok=ok, duration_ms=ms)
    now = timezone.now()
    CheckResult.objects.create(report=old, check_name="tx_exists", outcome="pass", started_at=now,
                               finished_at=now)

    samples = scrape(Authorization=f"Bearer {TOKEN}")

    assert samples[("lossproof_queue_depth", (("queue", f"{own_queues}.chain"),))] == 2
    assert samples[("lossproof_queue_depth", (("queue", f"{own_queues}.evidence"),))] == 1
    assert samples[("lossproof_queue_depth", (("queue", f"{own_queues}.exports"),))] == 0
    assert 1790 < samples[("lossproof_oldest_unchecked_report_age_seconds", ())] < 1900
    provider = (("chain", "eip155:1"), ("provider", "https://rpc.example"))
    assert samples[("lossproof_provider_calls", provider)] == 3
    assert samples[("lossproof_provider_errors", provider)] == 2
    assert samples[("lossproof_provider_latency_seconds", (*provider, ("stat", "max")))] == 3.0
    assert samples[("lossproof_checks", (("check", "tx_exists"), ("outcome", "pass")))] == 1


def test_the_operator_page_is_for_admins_only(client, settings):
    moderator = UserFactory(is_staff=True)
    admin = UserFactory(is_staff=True, is_superuser=True)
    login_with_second_factor(client, moderator)
    assert client.get("/ops/").status_code == 403
    login_with_second_factor(client, admin)

    response = client.get("/ops/")

    assert response.status_code == 200
    assert b"Readiness" in response.content and b"Queues" in response.content


def test_every_metric_the_alerting_rules_read_is_exposed(settings):
    """docker/alerts.yml must not watch a metric that /metrics never shows."""
    import re

    from operations.files import files_sweep
    from operations.models import BeatLease
    from verification.models import WorkerHeartbeat

    settings.METRICS_TOKEN = TOKEN
    files_sweep(grace=timedelta(0))
    BeatLease.objects.create(name="beat", holder="host:1", renewed_at=timezone.now())
    WorkerHeartbeat.objects.create(hostname="w@host", seen_at=timezone.now())
    ProviderCall.objects.create(chain="eip155:1", provider="https://rpc.example", ok=True, duration_ms=5)
    rules = (settings.BASE_DIR / "docker" / "alerts.yml").read_text()

    exposed = {name for name, _labels in scrape(Authorization=f"Bearer {TOKEN}")}

    assert set(re.findall(r"\blossproof_[a-z_]+", rules)) <= exposed
