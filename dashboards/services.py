"""Keep each incident's live summary fresh without a hot row: mark stale cheaply, rebuild once."""

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import translation
from kombu.exceptions import OperationalError

from dashboards.charts import CHARTS, chart_png, chart_rows, chart_svg, release_cite
from dashboards.models import DirtyReport, IncidentSummary, ReleaseChart, ReportFact, ReportFlow
from dashboards.sums import sql_stats
from incidents.models import Claim, Incident, Report, TicketAttestation
from registry.models import Release
from registry.stats import Fact, cents
from verification.selectors import checks_in_flight, mail_checks_count

logger = logging.getLogger(__name__)
REBUILD_TASK = "dashboards.tasks.rebuild_summary_task"
# pg_advisory_xact_lock's first key: the live summaries' rebuilds (the second is the incident's id).
LOCK_SPACE = 0x4C50  # "LP"
FACTS_SLICE = 5_000  # reports per throw-away register when fact rows are rewritten
BULK_CHANGE = 50  # changed reports waiting to be summed from which a rebuild may be put off


def summary_mark_stale(*, incident_ids: Iterable[int], full: bool = False) -> None:
    """Mark these incidents' live summaries stale and queue one rebuild each, after the commit.

    Only the call that flips a summary from fresh to stale queues a task: a thousand verdicts in
    a burst cost a thousand no-op conditional UPDATEs (no row lock once it is stale) and one rebuild.
    ``full`` asks the next rebuild to start from scratch rather than from the reports marked dirty.
    """
    for incident_id in sorted(set(incident_ids)):
        if full:
            IncidentSummary.objects.filter(incident_id=incident_id, full=False).update(full=True)
        flipped = IncidentSummary.objects.filter(incident_id=incident_id, stale=False).update(
            stale=True, stale_since=datetime.now(UTC))
        if not flipped:
            _, created = IncidentSummary.objects.get_or_create(incident_id=incident_id)
            if not created:
                continue  # already stale: its rebuild is queued or running
        transaction.on_commit(lambda pk=incident_id: _enqueue(pk))


def summary_mark_stale_for_reports(*, report_ids: Iterable[int]) -> None:
    """Note these reports as changed (verdicts, decisions) and mark their incidents' summaries stale.

    Called after every batch of checks: the rows are copied inside the database (INSERT … SELECT,
    one statement however many reports) and the whole is one transaction, one commit.
    """
    ids = sorted(set(report_ids))
    incidents: set[int] = set()
    with transaction.atomic():
        for start in range(0, len(ids), 10_000):  # SQLite takes at most 32,766 variables a query
            incidents |= _dirty_marked(ids[start:start + 10_000])
        summary_mark_stale(incident_ids=incidents)


def _dirty_marked(report_ids: list[int]) -> set[int]:
    """Add these reports to DirtyReport (those listed already stay); return their incidents."""
    reports = Report.objects.filter(pk__any=report_ids)
    select, params = reports.values_list("incident_id", "pk").order_by().query.sql_with_params()
    dirty = connection.ops.quote_name(DirtyReport._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {dirty} (incident_id, report_id) {select} "
                       "ON CONFLICT (report_id) DO NOTHING", params)
    return set(reports.values_list("incident_id", flat=True).distinct().order_by())


def _enqueue(incident_id: int) -> None:
    # Tasks import services, never the reverse: the task is found by name in Celery's registry.
    try:
        current_app.tasks[REBUILD_TASK].delay(incident_id)
    except OperationalError:
        logger.warning("broker unavailable; the summary of incident %s waits for the sweep", incident_id)


def summary_rebuild_delay(*, incident_id: int) -> float:
    """Return how long the next rebuild should wait (0: rebuild now).

    While the incident's reports are being checked in bulk (an import, `verify`), every batch
    marks the summary stale again: rebuilding after each would redo the incident-wide sums many
    times over and take workers from the checks. When at least BULK_CHANGE reports wait to be
    summed and a check is in flight, the rebuild waits, but never lets the preview lag more than
    SUMMARY_MAX_LAG_SECONDS behind the first change it has not summed (the first build of a new
    incident's import too: summed at once, it would add up the reports still being checked). A few
    changed reports (a decision, a web report's verdict) are summed at once, whatever else is being
    checked: journalists see a decision within a second.
    """
    summary = IncidentSummary.objects.filter(incident_id=incident_id)
    behind = summary.values_list("stale_since", flat=True).first()
    if behind is None or not _bulk_change(incident_id) or not checks_in_flight(incident_id=incident_id):
        return 0.0
    lag_left = settings.SUMMARY_MAX_LAG_SECONDS - (datetime.now(UTC) - behind).total_seconds()
    return min(settings.SUMMARY_DEFER_SECONDS, lag_left) if lag_left > 0 else 0.0


def _bulk_change(incident_id: int) -> bool:
    return DirtyReport.objects.filter(incident_id=incident_id)[:BULK_CHANGE].count() >= BULK_CHANGE


def summary_rebuild_later(*, incident_id: int, seconds: float) -> bool:
    """Queue the rebuild again in ``seconds``; False when the broker is down (rebuild now instead)."""
    try:
        current_app.tasks[REBUILD_TASK].apply_async((incident_id,), countdown=seconds)
    except OperationalError:
        return False
    return True


def summary_rebuild(*, incident_id: int) -> bool:
    """Rebuild a stale summary (the changed reports only, or all); False when there was nothing to take.

    The changed reports' facts are read from a throw-away register and rewritten in ReportFact and
    ReportFlow; the summary is then summed from those rows in SQL (dashboards.sums).
    """
    if not IncidentSummary.objects.filter(incident_id=incident_id, stale=True).update(stale=False,
                                                                                      stale_since=None):
        return False
    summary = IncidentSummary.objects.select_related("incident").filter(incident_id=incident_id).first()
    if summary is None:
        return False
    started = datetime.now(UTC)
    full = summary.full or summary.built_at is None
    fingerprint = incident_fingerprint(incident=summary.incident) if full else None
    with transaction.atomic():
        _rebuilds_serialised(incident_id)
        _facts_refresh(summary)
        stats = {**sql_stats(incident_id=incident_id, as_of=started, release=None), "preview": True}
        # A slower, older rebuild finishing last must not overwrite a newer one.
        IncidentSummary.objects.filter(Q(built_at__isnull=True) | Q(built_at__lt=started),
                                       incident_id=incident_id).update(stats=stats, built_at=started)
    if fingerprint is None:
        # After a notice, the preview shows first and the sweep's fingerprint follows: over a
        # million claims it costs about a second, more than the whole incremental rebuild.
        fingerprint = incident_fingerprint(incident=summary.incident)
    IncidentSummary.objects.filter(incident_id=incident_id, built_at=started).update(fingerprint=fingerprint)
    return True


def _rebuilds_serialised(incident_id: int) -> None:
    """Let one rebuild of an incident at a time read and write its facts (until the commit).

    A transaction-scoped advisory lock on PostgreSQL: the summary's row stays free for the cheap
    stale marks. SQLite lets one writer at a time through already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, incident_id])


def _facts_refresh(summary: IncidentSummary) -> None:
    """Take the dirty reports and rewrite their fact rows (all of the incident's on a full rebuild)."""
    listed = DirtyReport.objects.filter(incident_id=summary.incident_id)
    dirty = list(listed.values_list("report_id", flat=True))
    DirtyReport.objects.filter(report_id__in=dirty).delete()  # later marks stay for the next round
    if summary.full or summary.built_at is None:
        IncidentSummary.objects.filter(pk=summary.pk).update(full=False)
        facts_store(incident=summary.incident, report_ids=None)
    elif dirty:
        facts_store(incident=summary.incident, report_ids=dirty)


def facts_store(*, incident: Incident, report_ids: list[int] | None) -> int:
    """Rewrite the fact rows of these reports (None: all the incident's) from a throw-away register.

    A withdrawn or deleted report has no register row: its facts simply go. The reports are taken
    FACTS_SLICE at a time, so a rebuild's memory does not grow with the incident (or with the
    reports a long verification run changed). Returns rows written.
    """
    for model in (ReportFact, ReportFlow):
        old = model.objects.filter(incident=incident)
        (old if report_ids is None else old.filter(report_id__in=report_ids)).delete()
    if report_ids is None:
        report_ids = Report.objects.filter(incident=incident).values_list("pk", flat=True)
    report_ids = sorted(set(report_ids))
    return sum(_facts_slice(incident, report_ids[start:start + FACTS_SLICE])
               for start in range(0, len(report_ids), FACTS_SLICE))


def _facts_slice(incident: Incident, report_ids: list[int]) -> int:
    facts = live_facts(incident=incident, report_ids=report_ids)
    refs = dict(Report.objects.filter(incident=incident, pk__in=report_ids).values_list("report_ref", "pk"))
    rows, flows = [], []
    for ref, values in facts.items():
        row, its_flows = fact_rows(incident=incident, report_id=refs[ref], values=values)
        rows.append(row)
        flows.extend(its_flows)
    ReportFact.objects.bulk_create(rows, batch_size=2000)
    ReportFlow.objects.bulk_create(flows, batch_size=2000)
    return len(rows)


def summary_build_now(*, incident: Incident) -> IncidentSummary:
    """Return the incident's summary, building it in this request when none was ever built."""
    summary, _ = IncidentSummary.objects.get_or_create(incident=incident)
    if summary.built_at is None:
        IncidentSummary.objects.filter(pk=summary.pk).update(stale=True, stale_since=datetime.now(UTC))
        summary_rebuild(incident_id=incident.pk)
        summary.refresh_from_db()
    return summary


def live_facts(*, incident: Incident, report_ids: list[int] | None = None) -> dict[str, list]:
    """Write a throw-away CSV register of the incident (or of these reports) and read its facts."""
    # Loaded here, not with this module: every process loads it (dashboards.tasks), and registry's
    # writers bring XlsxWriter and cryptography, 80 ms of each command's start.
    from registry.exports import register_write
    from registry.services import register_facts

    with tempfile.TemporaryDirectory(prefix="lossproof-summary-") as folder:
        register_write(incident=incident, folder=Path(folder), created_at=datetime.now(UTC), formats=("csv",),
                       report_ids=report_ids)
        return register_facts(incident=incident, folder=Path(folder), report_ids=report_ids)


def fact_rows(*, incident: Incident, report_id: int, values: list) -> tuple[ReportFact, list[ReportFlow]]:
    """Return one report's fact (a registry.stats.Fact as a list) as unsaved rows: money in cents."""
    fact = Fact(*values)
    row = ReportFact(incident=incident, report_id=report_id, source=fact.source, exchange=fact.exchange,
                     tier=fact.tier, status=fact.status, claimed=cents(fact.claimed),
                     verified=cents(fact.verified),
                     day=date.fromisoformat(fact.day) if fact.day else None, asset=fact.asset,
                     ticket_status=fact.ticket_status, ticket_cited=fact.ticket_cited, police=fact.police,
                     bound=fact.bound, contested=fact.contested)
    flows = [ReportFlow(incident=incident, report_id=report_id, target=f"{chain} {address}", usd=cents(usd))
             for chain, address, usd in fact.flows]
    return row, flows


def incident_fingerprint(*, incident: Incident) -> str:
    """Hash what the statistics depend on, in a few grouped queries (the sweep's change detector)."""
    reports = (Report.objects.filter(incident=incident).values_list("tier", "status", "exchange_id")
               .annotate(n=Count("id"), verified=Sum("verified_loss_usd"), claimed=Sum("claimed_loss_usd"),
                         decided=Max("decided_at"), updated=Max("updated_at"))
               .order_by("tier", "status", "exchange_id"))
    claims = (Claim.objects.filter(report__incident=incident).values_list("status", "asset")
              .annotate(n=Count("id"), usd=Sum("usd_value"), bound=Count("id", filter=~Q(binding="")))
              .order_by("status", "asset"))
    answers = TicketAttestation.objects.filter(report__incident=incident).values_list("answer").annotate(
        n=Count("id")).order_by("answer")
    mails = mail_checks_count(incident=incident)
    state = [list(reports), list(claims), list(answers), mails]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def summaries_refresh() -> int:
    """Mark stale every published incident whose rows changed since its summary; return how many."""
    built = dict(IncidentSummary.objects.values_list("incident_id", "fingerprint"))
    changed = [incident.pk for incident in Incident.objects.published()
               if built.get(incident.pk) != incident_fingerprint(incident=incident)]
    summary_mark_stale(incident_ids=changed, full=True)
    _lost_rebuilds_requeued()
    return len(changed)


def _lost_rebuilds_requeued() -> None:
    """Queue a rebuild for summaries stale far longer than a put-off rebuild may lag.

    Only the mark that flips a summary to stale queues its rebuild: if that task is lost (a worker
    killed, a broker restarted empty), marking it stale again queues nothing, and the preview
    would stay old for good. A second task for a rebuild that is merely slow finds nothing to do.
    """
    lost_before = datetime.now(UTC) - timedelta(seconds=2 * settings.SUMMARY_MAX_LAG_SECONDS + 60)
    stale = IncidentSummary.objects.filter(Q(built_at__isnull=True) | Q(built_at__lt=lost_before), stale=True)
    for incident_id in stale.values_list("incident_id", flat=True):
        _enqueue(incident_id)


def release_charts_render(*, release: Release) -> int:
    """Draw every chart of a release once, in every language, as SVG; return how many.

    Its PNG copy is rasterised from that SVG the first time someone asks for it, then kept.
    """
    drawn = 0
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            cite = release_cite(release, release.incident)
            for spec in CHARTS.values():
                svg = chart_svg(spec, chart_rows(spec, release.stats), cite=cite)
                ReleaseChart.objects.update_or_create(release=release, chart=spec.slug, language=code,
                                                      defaults={"svg": svg, "png": b""})
                drawn += 1
    return drawn


def release_chart_png(*, chart: ReleaseChart) -> bytes:
    """Return the PNG copy of a release's chart, rasterising and keeping it on first use."""
    if not chart.png:
        chart.png = chart_png(chart.svg)
        ReleaseChart.objects.filter(pk=chart.pk).update(png=chart.png)
    return bytes(chart.png)
