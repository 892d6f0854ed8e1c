"""Verification services: the business logic that tasks and commands call."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Prefetch
from django.utils import timezone

from incidents.models import Asset, Claim, ClaimKind, Report, ReportStatus
from verification.bulk import rows_insert, rows_update
from verification.checks.bitcoin import bitcoin_transfer_checks
from verification.checks.transfers import (
    CheckOutcome,
    ClaimInput,
    IncidentContext,
    TransferFindings,
    transfer_checks,
)
from verification.clients.esplora import esplora_client_for
from verification.clients.evm import ChainError, ChainSnapshot, TxData, client_for
from verification.leases import lease_release
from verification.models import CheckResult, Outcome, Price, ProviderCall, WorkerHeartbeat
from verification.prices import PriceRow
from verification.selectors import (
    claims_by_chain,
    earliest_citations,
    incident_context,
    prices_for,
    report_order_key,
)
from verification.verdict import CheckView, ClaimSummary, ReportFacts, claim_verdict, report_verdict

# Reports per part of a batch: small enough that reading the next part overlaps with writing
# this one, large enough that each part still costs only a few round trips.
READ_AHEAD_REPORTS = 50
CLAIM_FIELDS = ["status", "reasons", "block_number", "block_time", "usd_value", "settled", "checked_at"]


def heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Store the time a worker was last seen alive."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:200], defaults={"seen_at": timezone.now()}
    )
    return heartbeat


@transaction.atomic
def prices_import(*, rows: list[PriceRow]) -> int:
    """Insert or update daily prices; return how many rows were written."""
    Price.objects.bulk_create(
        (Price(date=row.date, symbol=row.symbol, usd=row.usd) for row in rows),
        batch_size=2000, update_conflicts=True,
        unique_fields=["symbol", "date"], update_fields=["usd", "imported_at"],
    )
    return len(rows)


def reports_verify(*, report_ids: list[int]) -> None:
    """Check every transfer claim of these reports against the chain, then recompute verdicts.

    Chain reads happen outside any transaction and are grouped per chain across reports, so a
    batch costs a few round trips; while one part of the batch is judged and written, the
    next part is already being read. Writes replace each claim's results, so running this
    twice leaves the same rows as running it once.
    """
    _mark_checking(report_ids)
    parts = _parts(report_ids)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain-read") as reader:
        pending = reader.submit(_read_chains, parts[0][1]) if parts else None
        for index, (ids, claims) in enumerate(parts):
            snapshots, failures, calls = pending.result()
            if index + 1 < len(parts):
                pending = reader.submit(_read_chains, parts[index + 1][1])
            _write(ids, claims, _judge(claims, snapshots, failures), calls)


def _parts(report_ids: list[int], size: int = READ_AHEAD_REPORTS) -> list[tuple[list[int], list[Claim]]]:
    """Split the reports into parts, each with its transfer claims loaded (in this thread)."""
    claims = list(Claim.objects.filter(report_id__in=report_ids, kind=ClaimKind.TRANSFER)
                  .select_related("report__incident"))
    parts = []
    for start in range(0, len(report_ids), size):
        ids = report_ids[start:start + size]
        wanted = set(ids)
        parts.append((ids, [claim for claim in claims if claim.report_id in wanted]))
    return parts


def _write(ids: list[int], claims: list[Claim], findings: dict, calls: list) -> None:
    with transaction.atomic():
        # A report withdrawn (erased) while its chain was read has nothing left to write to.
        present = set(Report.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                      .values_list("pk", flat=True))
        ids, claims = [pk for pk in ids if pk in present], [c for c in claims if c.report_id in present]
        ProviderCall.objects.bulk_create(calls)
        _store(claims, findings)
        reports_recompute(report_ids=ids)
        Report.objects.filter(pk__in=ids, status=ReportStatus.CHECKING).update(
            status=ReportStatus.NEEDS_REVIEW, updated_at=timezone.now()
        )
        failed = {c.report_id for c in claims
                  if any(o.outcome == Outcome.ERROR for o in findings[c.pk][0].outcomes)}
        lease_release(model=Report, ids=[pk for pk in ids if pk not in failed])
        lease_release(model=Report, ids=sorted(failed), failed=True)  # the provider is asked later


def _mark_checking(report_ids: list[int]) -> None:
    # A conditional UPDATE: only new reports move, so a re-delivered task changes nothing here.
    Report.objects.filter(pk__in=report_ids, status=ReportStatus.SUBMITTED).update(
        status=ReportStatus.CHECKING, updated_at=timezone.now()
    )


def _read_chains(claims: list[Claim]) -> tuple[dict[str, ChainSnapshot], dict[str, ChainError], list]:
    snapshots, failures, calls = {}, {}, []
    for chain, group in claims_by_chain(claims).items():
        client = None
        try:
            client = esplora_client_for(chain) if chain.startswith("bip122:") else client_for(chain)
            snapshots[chain] = client.fetch_transactions([c.tx_hash for c in group])
        except ChainError as exc:
            failures[chain] = exc
        if client is not None:
            calls += [_provider_call(chain, record) for record in client.drain_records()]
    return snapshots, failures, calls


def _provider_call(chain: str, record) -> ProviderCall:
    return ProviderCall(chain=chain, provider=record.provider, methods=record.methods, ok=record.ok,
                        error=record.error[:2000], duration_ms=record.duration_ms, attempt=record.attempt)


def _judge(claims: list[Claim], snapshots: dict[str, ChainSnapshot],
           failures: dict[str, ChainError]) -> dict[int, tuple[TransferFindings, str, datetime]]:
    contexts: dict[int, IncidentContext] = {}
    earliest = earliest_citations(claims=claims)
    prices = _prices(claims, snapshots)
    findings = {}
    for claim in claims:
        started = timezone.now()
        snapshot = snapshots.get(claim.chain)
        if snapshot is None:
            findings[claim.pk] = (_failed(failures[claim.chain]), _provider(failures[claim.chain]), started)
            continue
        incident = claim.report.incident
        if incident.pk not in contexts:
            contexts[incident.pk] = incident_context(incident=incident)
        context = contexts[incident.pk]
        findings[claim.pk] = (_check_transfer(claim, snapshot, context, _earlier(claim, earliest), prices),
                              ", ".join(snapshot.providers), started)
    return findings


def _check_transfer(claim: Claim, snapshot: ChainSnapshot, context: IncidentContext,
                    earlier: int | None, prices: dict) -> TransferFindings:
    """Run the check family of the claim's chain (Bitcoin or EVM) on the agreed chain data."""
    common = {"claim": _claim_input(claim), "context": context, "head": snapshot.head,
              "claimed_elsewhere_by": earlier, "prices": prices,
              "data": snapshot.txs.get(claim.tx_hash) or TxData(claim.tx_hash)}
    if claim.chain.startswith("bip122:"):
        return bitcoin_transfer_checks(**common)
    return transfer_checks(**common, finalized=snapshot.finalized)


def _prices(claims: list[Claim], snapshots: dict[str, ChainSnapshot]) -> dict:
    days = {datetime.fromtimestamp(tx.block["timestamp"], tz=UTC).date()
            for snapshot in snapshots.values() for tx in snapshot.txs.values() if tx.block}
    incident_ids = {claim.report.incident_id for claim in claims}
    symbols = set(Asset.objects.filter(incident_id__in=incident_ids).values_list("symbol", flat=True))
    return prices_for(symbols=symbols, days=days) if days else {}


def _claim_input(claim: Claim) -> ClaimInput:
    return ClaimInput(chain=claim.chain, tx_hash=claim.tx_hash, log_index=claim.log_index,
                      asset=claim.asset, amount=claim.amount, from_address=claim.from_address)


def _earlier(claim: Claim, earliest: dict) -> int | None:
    first = earliest.get((claim.chain, claim.tx_hash, claim.log_index))
    if first is None or first.pk == claim.report_id:
        return None
    return first.pk if report_order_key(first) < report_order_key(claim.report) else None


def _failed(error: ChainError) -> TransferFindings:
    reason = "provider_error" if error.transient else "provider_refused"
    return TransferFindings([CheckOutcome("tx_exists", Outcome.ERROR, [reason],
                                          {"error": str(error), **error.detail})])


def _provider(error: ChainError) -> str:
    return error.provider or "unavailable"


def _store(claims: list[Claim], findings: dict) -> None:
    """Replace each claim's check results and write the claim's own status."""
    CheckResult.objects.filter(claim__in=claims).delete()
    now = timezone.now()
    results = []
    for claim in claims:
        found, provider, started = findings[claim.pk]
        results += [CheckResult(report_id=claim.report_id, claim=claim, check_name=o.name, outcome=o.outcome,
                                reasons=o.reasons, raw=o.raw, provider=provider[:200], started_at=started,
                                finished_at=now) for o in found.outcomes]
        verdict = claim_verdict(CheckView(o.name, o.outcome, tuple(o.reasons)) for o in found.outcomes)
        claim.status, claim.reasons = verdict.status, list(verdict.reasons)
        claim.block_number, claim.block_time = found.block_number, found.block_time
        claim.usd_value, claim.settled, claim.checked_at = found.usd_value, found.settled, now
    rows_insert(CheckResult, results)
    rows_update(Claim, claims, CLAIM_FIELDS)


@transaction.atomic
def reports_recompute(*, report_ids: list[int]) -> None:
    """Recompute tier, flags and verified loss of these reports from their stored results."""
    # Two tasks checking one report at once (its transfers and its support mail) would each see
    # only their own new results and the last to commit would store a stale verdict. Locked
    # (in id order, so batches cannot deadlock), the later one waits, then reads both.
    list(Report.objects.select_for_update().filter(pk__in=report_ids).order_by("pk").values_list("pk"))
    report_level = CheckResult.objects.filter(claim__isnull=True)
    reports = list(Report.objects.filter(pk__in=report_ids).select_related("incident").prefetch_related(
        "claims", "evidence", "attestations", Prefetch("check_results", queryset=report_level)))
    for report in reports:
        verdict = report_verdict(_facts(report))
        report.tier, report.flags = verdict.tier, list(verdict.flags)
        report.verified_loss_usd = verdict.verified_loss_usd
    rows_update(Report, reports, ["tier", "flags", "verified_loss_usd"])


def _facts(report: Report) -> ReportFacts:
    claims = list(report.claims.all())
    results = list(report.check_results.all())
    has_reference = bool(
        report.support_ticket_id or list(report.evidence.all())
        or any(c.kind == ClaimKind.TRANSFER for c in claims)
    )
    ticket_status, mail_flags = ticket_outcome(results, list(report.attestations.all()))
    return ReportFacts(
        claims=tuple(ClaimSummary(c.kind, c.status, c.usd_value) for c in claims),
        claimed_loss_usd=report.claimed_loss_usd, tolerance=report.incident.tolerance,
        has_reference=has_reference, ticket_status=ticket_status, mail_flags=frozenset(mail_flags),
        trade_loss_proven=_passed(results, "trade_loss_consistent"),
        trade_loss_usd=sum((Decimal(r.raw.get("verified_loss_usd", "0")) for r in results
                            if r.check_name == "trade_loss_consistent" and r.outcome == Outcome.PASS),
                           Decimal("0")),
        ownership_proven=_passed(results, "ownership_signature") or _passed(results, "leaked_key_membership"),
    )


def _passed(results: list[CheckResult], name: str) -> bool:
    return any(r.check_name == name and r.outcome == Outcome.PASS for r in results)


# Where several mails and answers bear on one ticket, the first status in this list wins:
# a failing signature outweighs a passing one, an exchange's denial outweighs its mail.
TICKET_PRECEDENCE = ["dkim_invalid", "domain_mismatch", "duplicate_ticket", "denied", "ticket_mismatch",
                     "attested", "dkim_verified", "key_unknown", "unsigned", "none"]


def ticket_outcome(results: list[CheckResult], attestations: list) -> tuple[str, set[str]]:
    """Return the report's ticket status and mail flags from its mail results and liaison answers."""
    mails = [r for r in results if r.check_name == "dkim_signature"]
    statuses = {r.raw.get("ticket_status") for r in mails}
    flags = {flag for r in mails for flag in r.raw.get("flags", [])}
    if attestations:
        statuses.add(attestations[0].answer)  # newest answer first (model ordering)
    status = next((s for s in TICKET_PRECEDENCE if s in statuses), "none")
    return status, flags


def claims_summary(*, report_ids: list[int]) -> dict[str, int]:
    """Count the transfer claims of these reports by status."""
    rows = (Claim.objects.filter(kind=ClaimKind.TRANSFER, report_id__in=report_ids)
            .values_list("status").annotate(n=Count("id")).order_by())
    return dict(rows)
