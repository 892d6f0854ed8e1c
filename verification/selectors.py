"""Reads of verification's stored results: the ones its services reuse (incident reference data,
rival citations, prices) and the ones the apps above read (check results, provider calls, worker
heartbeats, deliveries given up). Apps outside `verification/` read results only through here, so
the way results are stored can change without touching the pages, the register or the dashboards.
"""

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db.models import Avg, Count, Max, Q, QuerySet

from incidents.models import Claim, ClaimKind, ClaimStatus, Incident, Report, ReportStatus
from incidents.selectors import claims_citing
from incidents.vocabulary import CheckName
from verification.checks.common import AssetInfo, IncidentContext
from verification.models import CheckResult, Price, ProviderCall, TaskDelivery, WorkerHeartbeat


def incident_context(*, incident: Incident) -> IncidentContext:
    """Load what a transfer is judged against for one incident."""
    return IncidentContext(
        window_start=incident.window_start,
        window_end=incident.window_end,
        attackers={(a.chain, a.address) for a in incident.attacker_addresses.all()},
        safelisted={(a.chain, a.address) for a in incident.safelisted_addresses.all()},
        assets=[(a.chain, AssetInfo(a.symbol, a.decimals, a.contract)) for a in incident.assets.all()],
        confirmations={c.caip2: c.confirmations for c in incident.chains.all()},
        amount_tolerance=settings.AMOUNT_MATCH_TOLERANCE,
    )


def report_order_key(report: Report) -> tuple:
    """Order reports as "later" does (docs/methodology.md): submission time, sheet row, id."""
    return (report.submitted_at, report.source_row if report.source_row is not None else 0, report.pk)


class Citing(NamedTuple):
    """A transfer claim as the duplicate check weighs it: whose it is and what its checks found."""

    pk: int
    report_id: int
    chain: str
    tx_hash: str
    log_index: int | None
    checked_status: str
    binding: str


def citations_of(*, transfers: set[tuple[str, str]]) -> dict[tuple[str, str], list[Citing]]:
    """Return every active report's transfer claims on these (chain, tx hash) transactions.

    Plain rows, not models: a batch's read returns each of its own claims again.
    """
    found: dict[tuple[str, str], list[Citing]] = {}
    if not transfers:
        return found
    citing = claims_citing(transfers=transfers).values_list(*Citing._fields).order_by()
    for row in citing.iterator(chunk_size=2000):
        claim = Citing(*row)
        if (claim.chain, claim.tx_hash) in transfers:
            found.setdefault((claim.chain, claim.tx_hash), []).append(claim)
    return found


def check_results() -> QuerySet[CheckResult]:
    """Return every stored check result (incidents reads its reporter's checks through its hooks)."""
    return CheckResult.objects.all()


def prices_for(*, symbols: set[str], days: set[date]) -> dict[tuple[str, date], Decimal]:
    """Load the imported daily prices for these symbols and UTC dates."""
    rows = Price.objects.filter(symbol__in={s.upper() for s in symbols}, date__in=days)
    return {(p.symbol, p.date): p.usd for p in rows}


def reports_to_verify(*, incident: Incident | None = None) -> QuerySet[Report]:
    """Reports with work left: new ones, interrupted ones, and those with unchecked claims."""
    reports = Report.objects.active()
    if incident is not None:
        reports = reports.filter(incident=incident)
    pending = reports.filter(status__in=[ReportStatus.SUBMITTED, ReportStatus.CHECKING])
    unchecked = reports.filter(claims__status=ClaimStatus.UNCHECKED, claims__kind=ClaimKind.TRANSFER)
    return (pending | unchecked).distinct().order_by("id")


def report_needs_check() -> Q:
    """The condition reports_to_verify selects on, as one filter on Report (no join)."""
    unchecked = Claim.objects.filter(status=ClaimStatus.UNCHECKED, kind=ClaimKind.TRANSFER)
    return (Q(status__in=[ReportStatus.SUBMITTED, ReportStatus.CHECKING])
            | Q(pk__in=unchecked.values("report_id")))


def checks_in_flight(*, incident_id: int) -> bool:
    """Say whether a check of one of the incident's reports is queued or running (verification.leases)."""
    from django.utils import timezone

    return Report.objects.filter(incident_id=incident_id, check_queued_until__gt=timezone.now()).exists()


def reports_stuck(*, older_than) -> QuerySet[Report]:
    """Reports still new or checking long after they were stored: their task was lost."""
    return Report.objects.filter(status__in=[ReportStatus.SUBMITTED, ReportStatus.CHECKING],
                                 updated_at__lt=older_than)


def reports_to_recheck() -> QuerySet[Report]:
    """Reports with transfer claims that are not settled yet (unconfirmed, unchecked, or shallow)."""
    open_statuses = [ClaimStatus.UNCHECKED, ClaimStatus.UNCONFIRMED, ClaimStatus.VERIFIED,
                     ClaimStatus.MISMATCH, ClaimStatus.OUTSIDE_WINDOW, ClaimStatus.DUPLICATE,
                     ClaimStatus.REVERTED]
    # New and in-flight reports have a task of their own; reports_stuck catches lost ones.
    return (Report.objects.active()
            .exclude(status__in=[ReportStatus.SUBMITTED, ReportStatus.CHECKING])
            .filter(claims__kind=ClaimKind.TRANSFER, claims__settled=False, claims__status__in=open_statuses)
            .distinct().order_by("id"))


def claims_by_chain(claims: list[Claim]) -> dict[str, list[Claim]]:
    grouped: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        grouped[claim.chain].append(claim)
    return grouped


def liaison_tickets(*, user) -> QuerySet[Report]:
    """Reports citing a ticket of the one exchange this liaison is bound to (none without a binding)."""
    binding = getattr(user, "liaison", None) if user.is_authenticated else None
    if binding is None:
        return Report.objects.none()
    return (Report.objects.active().filter(exchange_id=binding.exchange_id).exclude(support_ticket_id="")
            .prefetch_related("attestations").order_by("submitted_at", "id"))


def evidence_to_verify(*, incident: Incident | None = None) -> QuerySet:
    """Support mails and trade exports that have no check result yet (their task was lost)."""
    from incidents.models import Evidence, EvidenceKind

    evidence = Evidence.objects.filter(kind__in=[EvidenceKind.SUPPORT_EMAIL, EvidenceKind.TRADE_EXPORT],
                                       check_results__isnull=True).exclude(report__status=ReportStatus.WITHDRAWN)
    if incident is not None:
        evidence = evidence.filter(report__incident=incident)
    return evidence.order_by("id")


# --- Reads for the apps above (register, moderation, dashboards, operations, devtools) ------------


def found_asset_rows(*, incident: Incident, statuses: list[str], report_ids: list[int] | None = None):
    """Rows (report_ref, chain, tx_hash, log_index, asset found) of the amount checks on claims that
    state no asset, for reports in these statuses (and these reports, when given)."""
    results = CheckResult.objects.filter(report__incident=incident, check_name=CheckName.AMOUNT_MATCHES,
                                         claim__asset="", claim__report__status__in=statuses)
    results = results if report_ids is None else results.filter(report_id__in=report_ids)
    return results.values_list("claim__report__report_ref", "claim__chain", "claim__tx_hash",
                               "claim__log_index", "raw__asset")


def mail_checks_count(*, incident: Incident) -> int:
    """How many mail signature checks this incident's reports hold."""
    return CheckResult.objects.filter(report__incident=incident, check_name=CheckName.DKIM_SIGNATURE).count()


def checks_outside_claims() -> QuerySet[CheckResult]:
    """Check results attached to no claim (evidence and report checks), for a prefetch."""
    return CheckResult.objects.filter(claim__isnull=True)


def provider_calls_between(*, chains: set[str], start: datetime, end: datetime, limit: int = 50) -> list:
    """The chain requests made on these chains in this span, oldest first, at most ``limit``."""
    return list(ProviderCall.objects.filter(chain__in=chains, created_at__range=(start, end))
                .order_by("created_at")[:limit])


def provider_calls_since(*, since: datetime) -> list[dict]:
    """Calls, errors and latency per chain endpoint since this moment."""
    recent = ProviderCall.objects.filter(created_at__gte=since)
    return list(recent.values("chain", "provider").annotate(
        calls=Count("id"), errors=Count("id", filter=Q(ok=False)),
        avg_ms=Avg("duration_ms"), max_ms=Max("duration_ms")).order_by("chain", "provider"))


def checks_per_outcome() -> list[dict]:
    """Stored check results per check and outcome."""
    return list(CheckResult.objects.values("check_name", "outcome").annotate(count=Count("id"))
                .order_by("check_name", "outcome"))


def worker_heartbeats() -> list[WorkerHeartbeat]:
    """The last heartbeat of every worker, by host name."""
    return list(WorkerHeartbeat.objects.order_by("hostname"))


def worker_seen_since(moment: datetime) -> bool:
    """Whether some worker has recorded a heartbeat since this moment."""
    return WorkerHeartbeat.objects.filter(seen_at__gte=moment).exists()


def tasks_given_up_count() -> int:
    """How many task deliveries were given up after their last retry."""
    return TaskDelivery.objects.filter(gave_up=True).count()
