"""Tasks go to the queue of their kind of work; mail to users travels through the mail queue."""

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail

from accounts.tasks import send_mail_task
from config.celery import app as celery_app
from config.queues import queue_names, route_task
from incidents.tasks import purge_drafts_task
from verification.tasks import recheck_claims_task, verify_evidence_task, verify_report_task


@pytest.mark.parametrize(("task", "kind"), [
    (verify_report_task, ".chain"), (recheck_claims_task, ".chain"), (verify_evidence_task, ".evidence"),
    (send_mail_task, ".mail"), (purge_drafts_task, ""),
])
def test_each_task_is_routed_to_the_queue_of_its_kind_under_the_base_name(task, kind):
    base = celery_app.conf.task_default_queue  # the session's own (tests/conftest.py)

    route = route_task(task.name, (), {}, {}, task=task)

    assert (route or {}).get("queue", base) == base + kind
    assert base + kind in queue_names(base)


@pytest.fixture
def queued_mail(settings, monkeypatch):
    """The queued backend, with the task run here in place of a worker (its queue is checked above)."""
    settings.EMAIL_BACKEND = "config.mail.QueuedEmailBackend"
    settings.MAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent: list[dict] = []
    monkeypatch.setattr(send_mail_task, "delay", sent.append)
    return sent


def test_a_mail_is_queued_as_plain_data_and_delivered_by_the_task(queued_mail):
    message = EmailMultiAlternatives("Confirm your address", "Open the link", "no-reply@localhost",
                                     ["victim@example.org"], alternatives=[("<p>Open</p>", "text/html")])
    message.send()
    assert mail.outbox == []  # nothing delivered by the web process

    send_mail_task(queued_mail[0])

    [delivered] = mail.outbox
    assert (delivered.subject, delivered.to, delivered.alternatives[0][0]) == (
        "Confirm your address", ["victim@example.org"], "<p>Open</p>")


def test_a_mail_is_delivered_directly_when_the_broker_is_down(settings, monkeypatch):
    from kombu.exceptions import OperationalError

    settings.EMAIL_BACKEND = "config.mail.QueuedEmailBackend"
    settings.MAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(send_mail_task, "delay", broker_down)

    send_mail("Reset your password", "Open the link", "no-reply@localhost", ["victim@example.org"])

    assert [m.subject for m in mail.outbox] == ["Reset your password"]


@pytest.mark.django_db
def test_a_queued_publication_is_left_to_the_exports_queue_and_publishes(monkeypatch, signing_key):
    from io import StringIO

    from django.core.management import call_command

    from registry.models import Release
    from registry.tasks import publish_release_task
    from tests.factories import ClaimFactory, IncidentFactory, ReportFactory

    incident = IncidentFactory(published=True)
    ClaimFactory(report=ReportFactory(incident=incident))
    queued: list[int] = []
    monkeypatch.setattr(publish_release_task, "delay", queued.append)

    call_command("export_register", "--incident", incident.slug, "--publish", "--queue", stdout=StringIO())
    assert queued == [incident.pk] and not Release.objects.exists()
    assert route_task(publish_release_task.name, (), {}, {}, task=publish_release_task)["queue"].endswith(
        ".exports")

    publish_release_task(incident.pk)  # what the worker runs

    assert Release.objects.get().incident == incident
