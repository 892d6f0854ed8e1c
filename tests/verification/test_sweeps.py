"""The beat sweep: one verification in flight per report and file, failed evidence checks retried, bounded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from incidents.models import Evidence, EvidenceKind, Report
from incidents.services import evidence_attach
from tests.conftest import wait_for
from tests.verification.conftest import build_world, rpc_proxy
from tests.verification.dkim_fixtures import binance_with_archived_key, build_mail, rsa_key, sign
from verification import tasks
from verification.models import CheckResult


@pytest.fixture
def queued(monkeypatch) -> dict[str, list[int]]:
    """What the sweep sends to the broker, by task."""
    sent: dict[str, list[int]] = {"reports": [], "evidence": []}
    monkeypatch.setattr(tasks.verify_reports_task, "delay", lambda ids: sent["reports"].extend(ids))
    monkeypatch.setattr(tasks.verify_report_task, "delay", lambda pk: sent["reports"].append(pk))
    monkeypatch.setattr(tasks.verify_evidence_task, "delay", lambda pk: sent["evidence"].append(pk))
    return sent


def expire_markers(model) -> None:
    """Move time past the in-flight markers: what VERIFY_LEASE_SECONDS does in production."""
    model.objects.update(check_queued_until=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def shallow(db, anvil, chain_settings):
    """A report whose transfer waits for confirmations: the sweep re-checks it until settled."""
    world = build_world(anvil, confirmations=50)
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.1")
    report = world.report({"tx_hash": tx, "asset": "ETH", "amount": Decimal("0.1")})
    tasks.verify_report_task(report.pk)
    return report


def test_every_minute_of_sweeps_queues_an_unsettled_report_once_while_it_is_in_flight(shallow, queued):
    for _ in range(10):
        tasks.recheck_claims_task()

    assert queued["reports"] == [shallow.pk]


def test_a_report_is_queued_again_once_its_check_ran_to_the_end(shallow, queued):
    tasks.recheck_claims_task()
    tasks.verify_reports_task(queued["reports"])  # the worker runs it: the marker is cleared

    tasks.recheck_claims_task()

    assert queued["reports"] == [shallow.pk, shallow.pk]


def test_while_a_provider_hangs_the_sweep_waits_instead_of_piling_up(db, anvil, settings, queued):
    with rpc_proxy(anvil.url, delay=2.0) as (url, _):
        settings.CHAIN_RPC_URLS = {"eip155:31337": [url]}
        settings.CHAIN_RPC_TIMEOUT = 0.5
        world = build_world(anvil)
        report = world.report({"tx_hash": "0x" + "12" * 32, "asset": "ETH"})
        tasks.verify_report_task(report.pk)  # every endpoint timed out: the claim stays unchecked
        assert report.claims.get().status == "unchecked"

        for _ in range(10):
            tasks.recheck_claims_task()

    assert queued["reports"] == []  # the provider is asked again after the back-off, not every minute
    report.refresh_from_db()
    backoff = timedelta(seconds=settings.RECHECK_BACKOFF_SECONDS)
    assert report.check_queued_until > timezone.now() + backoff - timedelta(minutes=1)


def test_a_report_whose_check_never_ends_is_given_up_after_the_delivery_limit(shallow, queued, settings):
    settings.TASK_MAX_DELIVERIES = 3
    Report.objects.filter(pk=shallow.pk).update(check_queued_until=None, check_attempts=0)

    for _ in range(6):  # each time the worker died with it and the marker expired
        tasks.recheck_claims_task()
        expire_markers(Report)

    assert queued["reports"] == [shallow.pk] * 3
    assert Report.objects.get(pk=shallow.pk).check_attempts == 3


def test_a_report_is_queued_once_however_often_it_is_asked_for(db, queued):
    from tests.factories import ReportFactory

    report = ReportFactory()
    Report.objects.filter(pk=report.pk).update(check_queued_until=None)

    tasks.verification_enqueue(report_id=report.pk)
    tasks.verification_enqueue(report_id=report.pk)
    tasks.reports_enqueue(report_ids=[report.pk])

    assert queued["reports"] == [report.pk]


def test_verify_does_not_queue_a_report_whose_check_ended_after_it_was_selected(shallow, queued):
    # `verify` selected the report while the import's task had it; that check has since ended.
    selected = [shallow.pk]
    assert shallow.claims.get().status != "unchecked"

    assert tasks.reports_enqueue(report_ids=selected, unchecked_only=True) == []
    assert queued["reports"] == []


def test_verify_queues_a_report_still_unchecked_and_free(db, anvil, chain_settings, queued):
    world = build_world(anvil)
    report = world.report({"tx_hash": "0x" + "34" * 32, "asset": "ETH"})
    Report.objects.filter(pk=report.pk).update(check_queued_until=None)

    assert tasks.reports_enqueue(report_ids=[report.pk], unchecked_only=True) == [report.pk]
    assert queued["reports"] == [report.pk]


# --- evidence checks -------------------------------------------------------------------------------


@pytest.fixture
def mail_evidence(db, queued, django_capture_on_commit_callbacks):
    from tests.factories import ReportFactory

    report = ReportFactory(support_ticket_id="12345678", contact_email="victim@example.org")
    binance_with_archived_key(report.incident)
    with django_capture_on_commit_callbacks(execute=True):
        evidence = evidence_attach(report=report, kind=EvidenceKind.SUPPORT_EMAIL,
                                   data=sign(build_mail(), key=rsa_key("binance-2022")))
    return evidence


def test_an_evidence_check_that_died_is_queued_again_by_the_sweep(mail_evidence, queued):
    assert queued["evidence"] == [mail_evidence.pk]  # on upload
    tasks.recheck_claims_task()
    assert queued["evidence"] == [mail_evidence.pk]  # still in flight: not again

    expire_markers(Evidence)  # the worker died with it; nothing was written
    tasks.recheck_claims_task()

    assert queued["evidence"] == [mail_evidence.pk, mail_evidence.pk]


def test_a_checked_evidence_file_is_not_queued_again(mail_evidence, queued):
    tasks.verify_evidence_task(mail_evidence.pk)
    assert CheckResult.objects.filter(evidence=mail_evidence).exists()
    assert Evidence.objects.get(pk=mail_evidence.pk).check_queued_until is None

    tasks.recheck_claims_task()

    assert queued["evidence"] == [mail_evidence.pk]


def test_evidence_sweeps_stop_at_the_delivery_limit(mail_evidence, queued, settings):
    settings.TASK_MAX_DELIVERIES = 2

    for _ in range(5):
        expire_markers(Evidence)
        tasks.recheck_claims_task()

    assert queued["evidence"] == [mail_evidence.pk] * 2  # the upload's claim and one sweep


def test_the_worker_checks_a_file_whose_first_check_was_lost(transactional_db, celery_worker, monkeypatch,
                                                             worker_evidence_storage):
    from tests.factories import ReportFactory

    monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", worker_evidence_storage)
    report = ReportFactory(support_ticket_id="12345678", contact_email="victim@example.org")
    binance_with_archived_key(report.incident)
    with monkeypatch.context() as lost:
        lost.setattr(tasks.verify_evidence_task, "delay", lambda pk: None)  # the message never arrives
        evidence = evidence_attach(report=report, kind=EvidenceKind.SUPPORT_EMAIL,
                                   data=sign(build_mail(), key=rsa_key("binance-2022")))
    expire_markers(Evidence)

    tasks.recheck_claims_task()

    wait_for(lambda: CheckResult.objects.filter(evidence=evidence).exists(), timeout=60)
    wait_for(lambda: Evidence.objects.filter(pk=evidence.pk, check_queued_until__isnull=True).exists())
    assert Report.objects.get(pk=report.pk).tier == "T1"  # a verified mail without a proven loss
