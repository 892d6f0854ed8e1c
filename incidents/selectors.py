"""Reusable reads of incidents and reports."""

import hashlib
import json

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from incidents import hooks
from incidents.guidance import CHECKED_EVIDENCE, Standing
from incidents.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Evidence,
    EvidenceKind,
    Incident,
    Report,
    ReportDraft,
    ReportSource,
    ReportStatus,
)
from incidents.vocabulary import CheckName, Outcome


def incident_list_visible(*, user) -> QuerySet[Incident]:
    """Published incidents for everyone; staff also see unpublished ones."""
    incidents = Incident.objects.all()
    return incidents if user.is_staff else incidents.published()


def incident_summary(*, incident: Incident) -> dict:
    """Return report counts by status and tier, and claimed and verified totals."""
    reports = Report.objects.active().filter(incident=incident)
    totals = reports.aggregate(
        reports=Count("id"),
        claimed=Sum("claimed_loss_usd"),
        verified=Sum("verified_loss_usd"),
        decided=Count("id", filter=Q(decided_at__isnull=False)),
    )
    by_status = dict(reports.values_list("status").annotate(n=Count("id")).order_by())
    by_tier = dict(reports.values_list("tier").annotate(n=Count("id")).order_by())
    return {
        **totals,
        "by_status": [(label, by_status.get(value, 0)) for value, label in ReportStatus.choices
                      if value != ReportStatus.WITHDRAWN],
        "by_tier": sorted(by_tier.items()),
    }


# --- The reporter's own reports (issue 6) -----------------------------------------------------


def report_list_for_reporter(*, user) -> QuerySet[Report]:
    """Return the user's reports, newest first; withdrawn ones are gone for them."""
    return (Report.objects.active().filter(reporter=user).select_related("incident", "exchange")
            .order_by("-submitted_at", "-id"))


def report_drafts_of(*, user) -> QuerySet[ReportDraft]:
    """Return the user's unfinished report drafts, most recently touched first."""
    return ReportDraft.objects.filter(reporter=user).select_related("incident")


def report_for_owner(*, user) -> QuerySet[Report]:
    """Return the user's reports with everything their page shows loaded in a few queries."""
    outside_claims = hooks.check_results().filter(claim__isnull=True)
    return report_list_for_reporter(user=user).prefetch_related(
        Prefetch("claims", queryset=Claim.objects.select_related("exchange").prefetch_related(
            "check_results")),
        Prefetch("evidence", queryset=Evidence.objects.prefetch_related(
            Prefetch("check_results", queryset=outside_claims))),
        Prefetch("check_results", queryset=outside_claims.filter(evidence__isnull=True),
                 to_attr="report_checks"),
        "messages", "attestations",
    )


def evidence_visible(*, user) -> QuerySet[Evidence]:
    """Staff see every file; a reporter sees the files of their own active reports only."""
    evidence = Evidence.objects.select_related("report")
    if user.is_staff:
        return evidence
    return evidence.filter(report__reporter=user).exclude(report__status=ReportStatus.WITHDRAWN)


def report_pending(*, report: Report) -> bool:
    """Say whether checks are still to come (on a report loaded by report_for_owner)."""
    if report.status in (ReportStatus.SUBMITTED, ReportStatus.CHECKING):
        return True
    # A claim whose check errored keeps its results and waits for the re-check sweep: not pending.
    if any(c.kind == ClaimKind.TRANSFER and c.status == ClaimStatus.UNCHECKED
           and not c.check_results.all() for c in report.claims.all()):
        return True
    return any(e.kind in CHECKED_EVIDENCE and not e.check_results.all() for e in report.evidence.all())


def report_standing(*, report: Report) -> Standing:
    """Collect what the next-tier hints depend on (on a report loaded by report_for_owner)."""
    claims = list(report.claims.all())
    evidence_results = [r for e in report.evidence.all() for r in e.check_results.all()]
    results = evidence_results + report.report_checks
    transfers = [c for c in claims if c.kind == ClaimKind.TRANSFER]
    verified = [c for c in claims if c.status == ClaimStatus.VERIFIED]
    return Standing(
        tier=report.tier, flags=tuple(report.flags),
        loss_proven=bool(verified) or _passed(results, CheckName.TRADE_LOSS_CONSISTENT),
        transfers=len(transfers),
        transfers_pending=any(c.status == ClaimStatus.UNCHECKED for c in transfers),
        has_trade_export=any(e.kind == EvidenceKind.TRADE_EXPORT for e in report.evidence.all()),
        ticket_status=report.ticket_status, ticket_id=report.support_ticket_id,
        exchange=report.exchange.name if report.exchange else "",
        bound=any(c.binding for c in verified),
        contested=any(c.status == ClaimStatus.CONTESTED for c in transfers),
    )


def _passed(results, name: str) -> bool:
    return any(r.check_name == name and r.outcome == Outcome.PASS for r in results)


def report_version(*, report: Report) -> str:
    """Return a short fingerprint of what the checks partial shows, to answer "nothing new" cheaply."""
    results = [*report.report_checks, *(r for c in report.claims.all() for r in c.check_results.all()),
               *(r for e in report.evidence.all() for r in e.check_results.all())]
    state = [report.status, report.tier, report.flags, str(report.verified_loss_usd),
             sorted((r.pk, r.outcome, r.finished_at.isoformat()) for r in results),
             [(c.pk, c.status, str(c.usd_value)) for c in report.claims.all()],
             [e.pk for e in report.evidence.all()]]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:16]


def rivals_of(*, report_ids: list[int], citing: set[int] | None = None) -> set[int]:
    """Return the other active reports citing a transfer or the ticket of these reports (their rivals).

    ``citing``: the active reports citing these reports' transfers, when the caller read them.
    """
    if citing is None:
        own = set(Claim.objects.filter(report_id__any=report_ids, kind=ClaimKind.TRANSFER)
                  .values_list("chain", "tx_hash"))
        citing = set(claims_citing(transfers=own).values_list("report_id", flat=True))
    tickets = (Report.objects.filter(pk__any=report_ids).exclude(support_ticket_id="")
               .values_list("incident_id", "support_ticket_id"))
    by_ticket = Q(pk__in=[])
    for incident_id, ticket in tickets:
        by_ticket |= Q(incident_id=incident_id, support_ticket_id__iexact=ticket.strip())
    same_ticket = Report.objects.active().filter(by_ticket).values_list("pk", flat=True)
    return (citing | set(same_ticket)) - set(report_ids)


def claims_citing(*, transfers: set[tuple[str, str]]) -> QuerySet[Claim]:
    """Return the active reports' transfer claims on these (chain, tx hash) transactions.

    Filtered by chains and hashes separately (the (chain, tx_hash, log_index) index serves it,
    chain first): on several chains a row may pair a chain with another chain's hash, which the
    caller drops. The hashes go as a list, not a subquery: just after a bulk import the planner's
    statistics are stale, and it scanned the whole table once per hash of a subquery.
    """
    return (Claim.objects.filter(kind=ClaimKind.TRANSFER, chain__any={chain for chain, _ in transfers},
                                 tx_hash__any={tx_hash for _, tx_hash in transfers})
            .exclude(report__status=ReportStatus.WITHDRAWN))


def imported_rows_for(*, user) -> QuerySet[Report]:
    """Return rows of an imported sheet, nobody's yet, whose contact address is one the user verified."""
    from allauth.account.models import EmailAddress

    matches = Q(pk__in=[])
    for address in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True):
        matches |= Q(contact_email__iexact=address)
    rows = Report.objects.active().filter(matches, source=ReportSource.IMPORT, reporter__isnull=True)
    return rows.select_related("incident", "exchange").order_by("submitted_at", "source_row")
