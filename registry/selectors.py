"""Reads behind the register, streamed in chunks so that memory stays flat at any size."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db.models import Count, Max, Q

from incidents.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Evidence,
    Incident,
    Report,
    ReportStatus,
)
from registry.models import Release

CHUNK = 2000
REPORT_FIELDS = ("id", "report_ref", "source", "source_file", "source_row", "exchange__name",
                 "claimed_loss_usd", "verified_loss_usd", "tier", "status", "flags", "decided_at",
                 "decision_reason", "resolved_flags", "police_report", "ticket_status")
# The stored pseudonym (incidents.refs) comes through the join the incident filter makes anyway.
CLAIM_FIELDS = ("report__report_ref", "kind", "chain", "tx_hash", "log_index", "asset", "amount",
                "from_address", "to_address", "block_number", "block_time", "usd_value", "status", "reasons",
                "period_start", "period_end")


@dataclass
class ReportExtras:
    """What reports.csv says about a report beyond its own row: its files, transfers and ticket."""

    evidence_kinds: set[str] = field(default_factory=set)
    transfers_claimed: int = 0
    transfers_verified: int = 0


def register_report_chunks(*, incident: Incident, report_ids: list[int] | None = None) -> Iterator[list]:
    """Yield the incident's non-withdrawn reports as named rows, CHUNK at a time, in sheet order."""
    reports = Report.objects.active().filter(incident=incident)
    # Only these reports: the dashboards' live summary refreshes just the ones that changed.
    reports = reports if report_ids is None else reports.filter(pk__in=report_ids)
    rows = (reports
            .order_by("submitted_at", "source_row", "id")
            .values_list(*REPORT_FIELDS, named=True).iterator(chunk_size=CHUNK))
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def register_counts(*, incident: Incident) -> dict[str, int]:
    """Count the rows the register's reports and claims tables will hold."""
    reports = Report.objects.active().filter(incident=incident).count()
    claims = (Claim.objects.filter(report__incident=incident)
              .exclude(report__status=ReportStatus.WITHDRAWN).count())
    return {"reports": reports, "claims": claims}


def register_claims(*, incident: Incident, report_ids: list[int] | None = None) -> Iterator[tuple]:
    """Yield the claims of the incident's non-withdrawn reports as plain tuples (CLAIM_FIELDS)."""
    claims = Claim.objects.filter(report__incident=incident).exclude(report__status=ReportStatus.WITHDRAWN)
    claims = claims if report_ids is None else claims.filter(report_id__in=report_ids)
    return (claims
            .order_by("report_id", "id").values_list(*CLAIM_FIELDS).iterator(chunk_size=CHUNK))


def report_extras(*, report_ids: list[int]) -> dict[int, ReportExtras]:
    """Return evidence kinds, transfer counts and ticket status for these reports (a few queries)."""
    extras = defaultdict(ReportExtras)
    kinds = Evidence.objects.filter(report_id__in=report_ids).values_list("report_id", "kind").distinct()
    for report_id, kind in kinds.order_by():
        extras[report_id].evidence_kinds.add(kind)
    for row in _transfer_counts(report_ids):
        extras[row["report_id"]].transfers_claimed = row["claimed"]
        extras[row["report_id"]].transfers_verified = row["verified"]
    return extras


def _transfer_counts(report_ids: list[int]):
    return (Claim.objects.filter(report_id__in=report_ids, kind=ClaimKind.TRANSFER)
            .values("report_id").order_by()
            .annotate(claimed=Count("id"), verified=Count("id", filter=Q(status=ClaimStatus.VERIFIED))))


def release_last(*, incident: Incident) -> Release | None:
    """Return the incident's latest published release, if any."""
    return Release.objects.filter(incident=incident).defer("facts").order_by("-number").first()


def release_last_number(*, incident: Incident) -> int:
    """Return the number of the incident's latest release, 0 when none was published."""
    return Release.objects.filter(incident=incident).aggregate(n=Max("number"))["n"] or 0


def release_summary(*, release: Release) -> dict[str, tuple[str, str, str]]:
    """Return report_ref -> (tier, status, verified_loss_usd) for every row of a release."""
    rows = release.rows.values_list("report_ref", "tier", "status", "data").iterator(chunk_size=CHUNK)
    return {ref: (tier, status, data["verified_loss_usd"]) for ref, tier, status, data in rows}
