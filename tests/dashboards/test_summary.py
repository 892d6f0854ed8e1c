"""The live summary: marked stale cheaply, rebuilt once by one coalescing task, swept for missed changes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboards import tasks
from dashboards.models import DirtyReport, IncidentSummary
from dashboards.services import (
    summaries_refresh,
    summary_mark_stale,
    summary_mark_stale_for_reports,
    summary_rebuild,
)
from incidents.models import Report
from incidents.signals import reports_changed
from registry.exports import register_write as real_write
from tests.dashboards.conftest import add_reports
from tests.factories import ClaimFactory, ExchangeFactory, IncidentFactory, ReportFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    sent = []
    monkeypatch.setattr(tasks.rebuild_summary_task, "delay", sent.append)
    return sent


def test_a_burst_of_verdicts_queues_one_rebuild(crowd, queued, django_capture_on_commit_callbacks):
    ids = list(Report.objects.filter(incident=crowd.incident).values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        for report_id in ids:
            summary_mark_stale_for_reports(report_ids=[report_id])

    assert queued == [crowd.incident.pk]


def test_a_rebuild_takes_the_work_once_and_a_mark_during_it_queues_the_next(
        crowd, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        summary_mark_stale(incident_ids=[crowd.incident.pk])

    assert summary_rebuild(incident_id=crowd.incident.pk) is True
    assert summary_rebuild(incident_id=crowd.incident.pk) is False  # a second copy of the task: nothing to do
    summary = IncidentSummary.objects.get(incident=crowd.incident)
    assert (summary.stale, summary.stats["reports"], summary.stats["preview"]) == (False, 27, True)
    with django_capture_on_commit_callbacks(execute=True):
        summary_mark_stale(incident_ids=[crowd.incident.pk])
    assert queued == [crowd.incident.pk, crowd.incident.pk]


def test_the_sweep_finds_changes_nobody_reported(crowd, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)

    assert summaries_refresh() == 0
    Report.objects.filter(incident=crowd.incident, exchange__name="Kraken").update(tier="T3")
    with django_capture_on_commit_callbacks(execute=True):
        assert summaries_refresh() == 1
    summary_rebuild(incident_id=crowd.incident.pk)
    assert IncidentSummary.objects.get(incident=crowd.incident).stats["by_tier"]["T3"] == 6


def test_a_new_report_changes_the_fingerprint(crowd, queued):
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)

    add_reports(crowd.incident, "Binance", 1)

    assert summaries_refresh() == 1


def test_the_reports_changed_notice_marks_the_summary_stale_after_the_commit(
        crowd, queued, django_capture_on_commit_callbacks):
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)
    report = Report.objects.filter(incident=crowd.incident).first()

    with django_capture_on_commit_callbacks(execute=True):
        reports_changed.send(sender=Report, report_ids=[report.pk])
        assert not IncidentSummary.objects.get(incident=crowd.incident).stale  # not before the commit

    assert IncidentSummary.objects.get(incident=crowd.incident).stale
    assert queued[-1] == crowd.incident.pk


def test_a_rebuild_after_a_verdict_reads_only_the_reports_that_changed(crowd, queued, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)  # the first build reads everything
    report = Report.objects.filter(incident=crowd.incident).first()
    Report.objects.filter(pk=report.pk).update(tier="T4", status="verified")
    read = []
    monkeypatch.setattr("registry.exports.register_write",
                        lambda **kwargs: read.append(kwargs["report_ids"]) or real_write(**kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        summary_mark_stale_for_reports(report_ids=[report.pk])
    summary_rebuild(incident_id=crowd.incident.pk)

    assert read == [[report.pk]]
    stats = IncidentSummary.objects.get(incident=crowd.incident).stats
    assert (stats["reports"], stats["by_tier"]["T4"], stats["by_status"]["verified"]) == (27, 1, 1)
    assert not DirtyReport.objects.exists()


def test_a_withdrawn_report_leaves_the_live_summary(crowd, queued):
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)
    report = Report.objects.filter(incident=crowd.incident).first()

    Report.objects.filter(pk=report.pk).update(status="withdrawn")
    summary_mark_stale_for_reports(report_ids=[report.pk])
    summary_rebuild(incident_id=crowd.incident.pk)

    assert IncidentSummary.objects.get(incident=crowd.incident).stats["reports"] == 26


def test_a_trade_loss_counts_on_the_day_its_period_starts(crowd, queued):
    incident = IncidentFactory(slug="trades")
    exchange = ExchangeFactory(incident=incident, name="Binance")
    for n in range(5):
        report = ReportFactory(incident=incident, status="needs_review", claimed_loss_usd=Decimal("500"))
        ClaimFactory(report=report, kind="trade_loss", tx_hash="", chain="", asset="", exchange=exchange,
                     period_start=datetime(2022, 11, 13, 22, n, tzinfo=UTC),
                     period_end=datetime(2022, 11, 14, 2, 0, tzinfo=UTC))

    summary_mark_stale(incident_ids=[incident.pk])
    summary_rebuild(incident_id=incident.pk)

    by_day = IncidentSummary.objects.get(incident=incident).stats["by_day"]
    assert [(row["day"], row["reports"]) for row in by_day] == [("2022-11-13", 5)]


def test_a_rebuild_waits_while_the_incidents_reports_are_being_checked(crowd, queued, monkeypatch, settings):
    from dashboards import services

    later = []
    monkeypatch.setattr(tasks.rebuild_summary_task, "apply_async",
                        lambda args, countdown: later.append((args, countdown)))
    monkeypatch.setattr(services, "BULK_CHANGE", 2)
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    tasks.rebuild_summary_task(crowd.incident.pk)  # the first build is never put off
    report, other = Report.objects.filter(incident=crowd.incident)[:2]
    in_flight = timezone.now() + timedelta(hours=1)
    Report.objects.filter(pk=report.pk).update(tier="T4", check_queued_until=in_flight)
    summary_mark_stale_for_reports(report_ids=[report.pk, other.pk])  # a batch's worth of verdicts

    tasks.rebuild_summary_task(crowd.incident.pk)
    assert later == [((crowd.incident.pk,), settings.SUMMARY_DEFER_SECONDS)]
    assert IncidentSummary.objects.get(incident=crowd.incident).stale

    Report.objects.filter(pk=report.pk).update(check_queued_until=None)  # the check ended
    tasks.rebuild_summary_task(crowd.incident.pk)
    summary = IncidentSummary.objects.get(incident=crowd.incident)
    assert not summary.stale and summary.stats["by_tier"]["T4"] == 1 and len(later) == 1


def test_a_decision_is_summed_at_once_even_while_other_reports_are_checked(crowd, queued, monkeypatch):
    monkeypatch.setattr(tasks.rebuild_summary_task, "apply_async", pytest.fail)
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    tasks.rebuild_summary_task(crowd.incident.pk)
    checked, decided = Report.objects.filter(incident=crowd.incident)[:2]
    Report.objects.filter(pk=checked.pk).update(check_queued_until=timezone.now() + timedelta(hours=1))
    Report.objects.filter(pk=decided.pk).update(status="rejected")
    summary_mark_stale_for_reports(report_ids=[decided.pk])

    tasks.rebuild_summary_task(crowd.incident.pk)

    summary = IncidentSummary.objects.get(incident=crowd.incident)
    assert not summary.stale and summary.stats["by_status"]["rejected"] >= 1


def test_a_rebuild_put_off_too_long_runs_even_while_checks_go_on(crowd, queued, monkeypatch, settings):
    from dashboards import services

    monkeypatch.setattr(tasks.rebuild_summary_task, "apply_async", pytest.fail)
    monkeypatch.setattr(services, "BULK_CHANGE", 2)
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)
    in_flight = timezone.now() + timedelta(hours=1)
    Report.objects.filter(incident=crowd.incident).update(check_queued_until=in_flight)
    summary_mark_stale_for_reports(report_ids=crowd.incident.reports.values_list("pk", flat=True))
    IncidentSummary.objects.filter(incident=crowd.incident).update(  # the first unsummed change
        stale_since=timezone.now() - timedelta(seconds=settings.SUMMARY_MAX_LAG_SECONDS + 1))

    tasks.rebuild_summary_task(crowd.incident.pk)

    assert not IncidentSummary.objects.get(incident=crowd.incident).stale


def test_a_new_incidents_first_build_waits_for_its_bulk_check_then_for_no_longer_than_the_bound(
        crowd, queued, monkeypatch, settings):
    from dashboards import services

    later = []
    monkeypatch.setattr(tasks.rebuild_summary_task, "apply_async",
                        lambda args, countdown: later.append((args, countdown)))
    monkeypatch.setattr(services, "BULK_CHANGE", 2)
    in_flight = timezone.now() + timedelta(hours=1)
    Report.objects.filter(incident=crowd.incident).update(check_queued_until=in_flight)  # just imported
    summary_mark_stale_for_reports(report_ids=crowd.incident.reports.values_list("pk", flat=True))

    tasks.rebuild_summary_task(crowd.incident.pk)
    summary = IncidentSummary.objects.get(incident=crowd.incident)
    assert later == [((crowd.incident.pk,), settings.SUMMARY_DEFER_SECONDS)]
    assert summary.stale and summary.built_at is None

    IncidentSummary.objects.filter(incident=crowd.incident).update(
        stale_since=timezone.now() - timedelta(seconds=settings.SUMMARY_MAX_LAG_SECONDS + 1))
    tasks.rebuild_summary_task(crowd.incident.pk)
    summary = IncidentSummary.objects.get(incident=crowd.incident)
    assert not summary.stale and summary.built_at is not None and len(later) == 1
    assert sum(summary.stats["by_tier"].values()) == crowd.incident.reports.count()


def test_fact_rows_written_a_few_reports_at_a_time_are_the_same_rows(crowd, monkeypatch):
    from dashboards import services
    from dashboards.models import ReportFact, ReportFlow

    def rows() -> tuple[list, list]:
        facts = ReportFact.objects.order_by("report_id").values_list(
            "report_id", "source", "exchange", "tier", "status", "claimed", "verified", "day", "asset",
            "ticket_status", "ticket_cited", "police", "bound", "contested")
        flows = ReportFlow.objects.order_by("report_id", "target").values_list("report_id", "target", "usd")
        return list(facts), list(flows)

    assert services.facts_store(incident=crowd.incident, report_ids=None) == crowd.incident.reports.count()
    whole = rows()
    monkeypatch.setattr(services, "FACTS_SLICE", 3)
    services.facts_store(incident=crowd.incident, report_ids=None)

    assert rows() == whole and len(whole[0]) > 3 * 2


def test_the_sweep_queues_again_a_rebuild_whose_task_was_lost(crowd, queued, settings):
    summary_mark_stale(incident_ids=[crowd.incident.pk])
    summary_rebuild(incident_id=crowd.incident.pk)
    queued.clear()
    summary_mark_stale(incident_ids=[crowd.incident.pk])  # its task is lost: nothing will run it
    queued.clear()
    summaries_refresh()
    assert queued == []  # a rebuild may just be on its way

    long_ago = timezone.now() - timedelta(seconds=2 * settings.SUMMARY_MAX_LAG_SECONDS + 61)
    IncidentSummary.objects.filter(incident=crowd.incident).update(built_at=long_ago)
    summaries_refresh()

    assert queued == [crowd.incident.pk]
