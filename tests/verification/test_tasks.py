"""Verification through a real Celery worker, the verify command and the re-check sweep."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents.models import Claim, Report
from tests.conftest import wait_for
from verification import tasks
from verification.models import CheckResult


@pytest.fixture
def committed_world(transactional_db, anvil, chain_settings):
    from tests.verification.conftest import build_world

    return build_world(anvil)


def test_a_submitted_report_is_verified_by_the_worker_after_commit(celery_worker, committed_world):
    world = committed_world
    tx = world.send_eth(world.victims[0], world.attackers[0], "1.25")

    report = world.report({"tx_hash": tx, "asset": "ETH", "amount": Decimal("1.25")})

    done = wait_for(lambda: Report.objects.filter(pk=report.pk, status="needs_review").first(), timeout=60)
    assert done.tier == "T2"
    assert Claim.objects.get(report=report).status == "verified"
    assert CheckResult.objects.filter(report=report).count() == 9


def test_verify_wait_uses_the_worker_and_prints_a_summary(celery_worker, committed_world, monkeypatch):
    world = committed_world
    monkeypatch.setattr(tasks.verify_report_task, "delay", lambda *a, **k: None)  # nothing queued on commit
    tx = world.send_eth(world.victims[1], world.attackers[1], "0.5")
    world.report({"tx_hash": tx, "asset": "ETH"})
    world.report({"tx_hash": "0x" + "34" * 32, "asset": "ETH"})
    # Their first messages were lost and their in-flight markers expired: `verify` queues them.
    Report.objects.update(check_queued_until=None)
    out = StringIO()

    call_command("verify", "--incident", world.incident.slug, "--wait", "--timeout", "60", stdout=out)

    text = out.getvalue()
    assert "Queued 2 reports" in text
    assert "Claims by status: not_found 1, verified 1" in text
    assert "Reports by tier: T1 1, T2 1" in text


def test_verify_wait_without_a_worker_does_the_work_itself(committed_world, monkeypatch):
    world = committed_world
    monkeypatch.setattr(tasks.verify_report_task, "delay", lambda *a, **k: None)
    # A queue no worker of this session consumes (the session's worker may be running).
    monkeypatch.setitem(tasks.verify_reports_task.app.conf, "task_default_queue", "nobody-listens-here")
    tx = world.send_eth(world.victims[2], world.attackers[0], "0.5")
    report = world.report({"tx_hash": tx, "asset": "ETH"})
    out = StringIO()

    call_command("verify", "--wait", stdout=out)

    assert "No worker answered" in out.getvalue()
    assert Claim.objects.get(report=report).status == "verified"


def test_verify_wait_ends_for_a_check_stamped_before_it_started_and_committed_after(db):
    from tests.factories import ClaimFactory
    from verification.management.commands.verify import Command

    claim = ClaimFactory(report__status="checking")
    selected_at = timezone.now()
    # The worker read its clock before `verify` started, and committed after `verify` selected it.
    Claim.objects.filter(pk=claim.pk).update(status="verified", checked_at=selected_at - timedelta(seconds=1))
    Report.objects.filter(pk=claim.report_id).update(status="needs_review")

    Command(stdout=StringIO())._wait_for([claim.report_id], 5.0, selected_at, busy={claim.report_id})


def test_verify_wait_still_waits_for_a_fresh_check_of_a_report_not_busy_when_selected(db):
    from tests.factories import ClaimFactory
    from verification.management.commands.verify import Command

    claim = ClaimFactory(report__status="needs_review")  # selected for its unchecked claim
    Claim.objects.filter(pk=claim.pk).update(checked_at=timezone.now() - timedelta(minutes=5))

    with pytest.raises(CommandError, match="did not finish"):
        Command(stdout=StringIO())._wait_for([claim.report_id], 1.0, timezone.now(), busy=set())


def test_verify_refuses_an_unknown_incident(db):
    with pytest.raises(CommandError, match="no incident") as excinfo:
        call_command("verify", "--incident", "nope")
    assert excinfo.value.returncode == 2


def test_the_sweep_requeues_unsettled_claims_and_lost_reports(db, anvil, chain_settings, monkeypatch):
    from tests.verification.conftest import build_world

    world = build_world(anvil, confirmations=5)
    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.verify_reports_task, "delay", queued.append)
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.1")
    shallow = world.report({"tx_hash": tx, "asset": "ETH"})
    tasks.verify_report_task(shallow.pk)
    lost = world.report({"tx_hash": tx, "asset": "ETH"})
    Report.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    fresh = world.report({"tx_hash": tx, "asset": "ETH"})

    tasks.recheck_claims_task()

    requeued = {pk for batch in queued for pk in batch}
    assert {shallow.pk, lost.pk} <= requeued
    assert fresh.pk not in requeued


def test_verify_wait_and_the_leases_cover_every_slice_of_a_long_list_of_reports(db, monkeypatch):
    # A long list goes to the database in slices (SQLite takes 32,766 variables a query): with a
    # slice of two, five reports take three, and the report waited on sits in the last one.
    from tests.factories import ClaimFactory
    from verification import leases
    from verification.management.commands import verify

    monkeypatch.setattr(verify, "POLL_SLICE", 2)
    monkeypatch.setattr(leases, "SLICE", 2)
    claims = [ClaimFactory(report__status="checking") for _ in range(5)]
    ids = [c.report_id for c in claims]
    started = timezone.now()

    assert leases.lease_claim(model=Report, ids=list(reversed(ids))) == sorted(ids)
    assert leases.lease_claim(model=Report, ids=ids) == []  # each is in flight now

    Report.objects.filter(pk__in=ids[:4]).update(status="needs_review")
    with pytest.raises(CommandError, match="did not finish"):
        verify.Command(stdout=StringIO())._wait_for(ids, 1.0, started, busy=set(ids))

    Report.objects.filter(pk=ids[4]).update(status="needs_review")
    out = StringIO()
    verify.Command(stdout=out)._wait_for(ids, 5.0, started, busy=set(ids))
    assert "5/5 claims" in out.getvalue()
