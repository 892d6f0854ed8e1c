"""Verification services: the business logic that tasks and commands call."""

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from incidents.copying import values_insert
from incidents.models import (
    Binding,
    Claim,
    ClaimKind,
    ClaimStatus,
    Evidence,
    Incident,
    Report,
    ReportStatus,
    TicketAttestation,
)
from incidents.queue_state import QUEUE_STATE_FIELDS, report_queue_state
from incidents.selectors import rivals_of
from incidents.signals import reports_changed
from incidents.vocabulary import CheckName
from verification.bulk import rows_update
from verification.checks.bitcoin import bitcoin_transfer_checks
from verification.checks.common import CheckOutcome, ClaimInput, IncidentContext, TransferFindings
from verification.checks.transfers import transfer_checks
from verification.clients import client_for
from verification.clients.base import ChainError, ChainSnapshot, TxData
from verification.leases import lease_end
from verification.models import CheckResult, Outcome, Price, ProviderCall, WorkerHeartbeat
from verification.prices import PriceRow
from verification.selectors import (
    citations_of,
    claims_by_chain,
    incident_context,
    prices_for,
    report_order_key,
)
from verification.verdict import (
    COMPETING,
    EXCHANGE_CONFIRMED,
    FRAUD_FLAGS,
    TIER_ORDER,
    CheckView,
    Citation,
    ClaimSummary,
    MailView,
    ReportFacts,
    citation_status,
    claim_binding,
    claim_verdict,
    report_verdict,
    ticket_base,
    ticket_status,
)

# Reports per part of a batch: reading the next part overlaps with writing this one. Each part
# costs about twenty round trips and a commit whatever its size; on a busy 2-core machine each
# round trip also waits for PostgreSQL's turn on a core, so parts of 50 spent most of a worker's
# time waiting (bench/verify_throughput.py --end-to-end, docs/scaling.md).
READ_AHEAD_REPORTS = 200
# The first part's chain read overlaps with nothing: kept short, the writes start sooner.
FIRST_PART_REPORTS = 50
CLAIM_FIELDS = ["status", "checked_status", "reasons", "block_number", "block_time", "usd_value", "settled",
                "checked_at", "chain_sender"]
# Final statuses a moderator set; the verdict sends such a report back to review when its proof weakens.
DECIDED = frozenset({ReportStatus.VERIFIED, ReportStatus.PARTIALLY_VERIFIED})


def heartbeat_record(*, hostname: str, queues: list[str] | None = None) -> WorkerHeartbeat:
    """Store the time a worker was last seen alive (and, when known, the queues it consumes)."""
    defaults = {"seen_at": timezone.now(), **({"queues": sorted(queues)} if queues is not None else {})}
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(hostname=hostname[:200], defaults=defaults)
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
    parts = _parts(report_ids, READ_AHEAD_REPORTS)
    contexts: dict[int, IncidentContext] = {}  # an incident's reference data, read once per batch
    changed: set[int] = set()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain-read") as reader:
            pending = reader.submit(_read_chains, parts[0][1]) if parts else None
            for index, (ids, claims) in enumerate(parts):
                snapshots, failures, calls = pending.result()
                if index + 1 < len(parts):
                    pending = reader.submit(_read_chains, parts[index + 1][1])
                changed |= _write(ids, claims, _judge(claims, snapshots, failures, contexts), calls)
    finally:
        # One notice for the whole batch, after its last commit, rather than one per part: each
        # notice makes the dashboards mark (and read) the incident's summary again.
        if changed:
            reports_changed.send(sender=Report, report_ids=sorted(changed))


def _parts(report_ids: list[int], size: int) -> list[tuple[list[int], list[Claim]]]:
    """Split the reports into parts, each with its transfer claims loaded (in this thread)."""
    # The incident's id only, not its row and the report's joined to every claim: reference data
    # is read once per incident (_judge), and a model built per claim per join cost a tenth of a batch.
    claims = list(Claim.objects.filter(report_id__any=report_ids, kind=ClaimKind.TRANSFER)
                  .annotate(incident_pk=F("report__incident_id")))
    parts = []
    first = min(FIRST_PART_REPORTS, size) if len(report_ids) > size else size
    for start, end in _bounds(len(report_ids), first, size):
        ids = report_ids[start:end]
        wanted = set(ids)
        parts.append((ids, [claim for claim in claims if claim.report_id in wanted]))
    return parts


def _bounds(count: int, first: int, size: int) -> list[tuple[int, int]]:
    """Return the (start, end) of each part: ``first`` items, then ``size`` at a time."""
    bounds, start, step = [], 0, first
    while start < count:
        bounds.append((start, min(count, start + step)))
        start, step = start + step, size
    return bounds


def _write(ids: list[int], claims: list[Claim], findings: dict, calls: list) -> set[int]:
    """Store one part's findings and verdicts; return the reports whose verdicts were recomputed."""
    with transaction.atomic():
        # A report withdrawn (erased) while its chain was read has nothing left to write to.
        present = set(Report.objects.select_for_update().filter(pk__any=ids).order_by("pk")
                      .values_list("pk", flat=True))
        ids, claims = [pk for pk in ids if pk in present], [c for c in claims if c.report_id in present]
        ProviderCall.objects.bulk_create(calls)
        # Read under the reports' locks: a claim never checked has no results to replace.
        checked_before = set(Claim.objects.filter(pk__any=[c.pk for c in claims], checked_at__isnull=False)
                             .values_list("pk", flat=True))
        _store(claims, findings, checked_before)
        failed = {c.report_id for c in claims
                  if any(o.outcome == Outcome.ERROR for o in findings[c.pk][0].outcomes)}
        # In this transaction, without a savepoint of its own. The reports' check ends in the
        # same statement as their verdicts: each UPDATE of a report writes all of its indexes.
        backoff = lease_end(failed=True)  # the provider is asked again after it
        ended = {pk: backoff if pk in failed else None for pk in ids}
        return set(_recompute(ids, claims, ended=ended))


def _mark_checking(report_ids: list[int]) -> None:
    # A conditional UPDATE: only new reports move, so a re-delivered task changes nothing here.
    Report.objects.filter(pk__any=report_ids, status=ReportStatus.SUBMITTED).update(
        status=ReportStatus.CHECKING, updated_at=timezone.now()
    )


def _read_chains(claims: list[Claim]) -> tuple[dict[str, ChainSnapshot], dict[str, ChainError], list]:
    snapshots, failures, calls = {}, {}, []
    for chain, group in claims_by_chain(claims).items():
        client = None
        try:
            client = client_for(chain)
            snapshots[chain] = client.fetch_transactions([c.tx_hash for c in group])
        except ChainError as exc:
            failures[chain] = exc
        if client is not None:
            calls += [_provider_call(chain, record) for record in client.drain_records()]
    return snapshots, failures, calls


def _provider_call(chain: str, record) -> ProviderCall:
    return ProviderCall(chain=chain, provider=record.provider, methods=record.methods, ok=record.ok,
                        error=record.error[:2000], duration_ms=record.duration_ms, attempt=record.attempt)


def _judge(claims: list[Claim], snapshots: dict[str, ChainSnapshot], failures: dict[str, ChainError],
           contexts: dict[int, IncidentContext]) -> dict[int, tuple[TransferFindings, str, datetime]]:
    for incident in Incident.objects.filter(pk__in={c.incident_pk for c in claims} - contexts.keys()):
        contexts[incident.pk] = incident_context(incident=incident)
    symbols = {asset.symbol for c in claims for _, asset in contexts[c.incident_pk].assets}
    prices = _prices(snapshots, symbols)
    findings = {}
    for claim in claims:
        started = timezone.now()
        snapshot = snapshots.get(claim.chain)
        if snapshot is None:
            findings[claim.pk] = (_failed(failures[claim.chain]), _provider(failures[claim.chain]), started)
            continue
        findings[claim.pk] = (_check_transfer(claim, snapshot, contexts[claim.incident_pk], prices),
                              ", ".join(snapshot.providers), started)
    return findings


def _check_transfer(claim: Claim, snapshot: ChainSnapshot, context: IncidentContext,
                    prices: dict) -> TransferFindings:
    """Run the check family of the claim's chain (Bitcoin or EVM) on the agreed chain data."""
    common = {"claim": _claim_input(claim), "context": context, "head": snapshot.head, "prices": prices,
              "data": snapshot.txs.get(claim.tx_hash) or TxData(claim.tx_hash)}
    if claim.chain.startswith("bip122:"):
        return bitcoin_transfer_checks(**common)
    return transfer_checks(**common, finalized=snapshot.finalized)


def _prices(snapshots: dict[str, ChainSnapshot], symbols: set[str]) -> dict:
    """Read the prices of the incidents' assets on the UTC dates of the blocks read."""
    days = {datetime.fromtimestamp(tx.block["timestamp"], tz=UTC).date()
            for snapshot in snapshots.values() for tx in snapshot.txs.values() if tx.block}
    return prices_for(symbols=symbols, days=days) if days else {}


def _claim_input(claim: Claim) -> ClaimInput:
    return ClaimInput(chain=claim.chain, tx_hash=claim.tx_hash, log_index=claim.log_index,
                      asset=claim.asset, amount=claim.amount, from_address=claim.from_address)


def _failed(error: ChainError) -> TransferFindings:
    reason = "provider_error" if error.transient else "provider_refused"
    return TransferFindings([CheckOutcome(CheckName.TX_EXISTS, Outcome.ERROR, [reason],
                                          {"error": str(error), **error.detail})])


def _provider(error: ChainError) -> str:
    return error.provider or "unavailable"


def _store(claims: list[Claim], findings: dict, checked_before: set[int]) -> None:
    """Replace each claim's check results and set (in memory) the claim's own status.

    The claims are written once, by ``_recompute(checked=claims)``, with their status among
    the reports citing the same transfer.
    """
    if checked_before:  # a first check skips the DELETE: fresh results tables have no statistics
        CheckResult.objects.filter(claim_id__any=sorted(checked_before)).delete()
    now = timezone.now()
    results = []
    for claim in claims:
        found, provider, started = findings[claim.pk]
        results += [{"report_id": claim.report_id, "claim_id": claim.pk, "evidence_id": None,
                     "check_name": o.name, "outcome": o.outcome, "reasons": o.reasons, "raw": o.raw,
                     "provider": provider[:200], "started_at": started, "finished_at": now, "attempts": 1}
                    for o in found.outcomes]
        verdict = claim_verdict(CheckView(o.name, o.outcome, tuple(o.reasons)) for o in found.outcomes)
        # Its own checks' word; reports_recompute weighs the other reports citing the transfer.
        claim.status = claim.checked_status = verdict.status
        claim.reasons, claim.chain_sender = list(verdict.reasons), found.sender or ""
        claim.block_number, claim.block_time = found.block_number, found.block_time
        claim.usd_value, claim.settled, claim.checked_at = found.usd_value, found.settled, now
    values_insert(CheckResult, results)


def reports_recompute(*, report_ids: list[int], checked: list[Claim] = (), notify: bool = True) -> set[int]:
    """Recompute tier, flags and verified loss of these reports and of every rival they have.

    Rivals are the other reports citing one of their transfers or their ticket: a binding or a
    verified ticket here changes what the rivals' citations prove, whichever finished first.
    ``checked``: claims of these reports just checked and not written yet (``_store``); their
    own findings are written here with their status, in the same statement. ``notify=False``:
    the caller sends ``reports_changed`` for the returned ids itself (once for many calls).
    """
    with transaction.atomic():
        ids = _recompute(report_ids, checked)
    if notify:
        reports_changed.send(sender=Report, report_ids=ids)  # the dashboards mark their summary stale
    return set(ids)


def _recompute(report_ids: list[int], checked: list[Claim], ended: dict | None = None) -> list[int]:
    """Recompute and write the verdicts (inside the caller's transaction); return the reports written.

    ``ended``: reports whose check ends here, with the in-flight marker each keeps (None, or a
    provider's back-off): written with the verdict, and a report still "checking" goes to review.
    """
    # Just checked, the batch's transfers are known: one read finds the reports citing them, to
    # lock as rivals (rivals_of would read the batch's transfers again first). What they cite is
    # weighed from a second read, under the locks (_weigh_citations): a citation whose check
    # committed in between counts, and one withdrawn in between does not.
    transfers, by_transfer = {(c.chain, c.tx_hash) for c in checked}, None
    if checked:
        by_transfer = {c.report_id for found in citations_of(transfers=transfers).values() for c in found}
    ids = sorted(set(report_ids) | rivals_of(report_ids=report_ids, citing=by_transfer))
    reports, rows = _load(ids)
    claims = [c for r in reports for c in rows.claims[r.pk] if c.kind == ClaimKind.TRANSFER]
    fresh = {claim.pk: claim for claim in checked}
    for claim in claims:
        if claim.pk in fresh:
            for name in CLAIM_FIELDS:
                setattr(claim, name, getattr(fresh[claim.pk], name))
    _bind(reports, rows)
    _recompute_late(_weigh_citations(claims, cleared=set(fresh)), transfers, ids)
    tickets = _tickets(reports, rows)
    for report in reports:
        _apply(report, report_verdict(_facts(report, tickets[report.pk], rows)), rows.claims[report.pk])
    _end_checks(reports, ended or {})
    rows_update(Claim, [c for c in claims if c.pk in fresh], [*CLAIM_FIELDS, "binding"])
    rows_update(Claim, [c for c in claims if c.pk not in fresh], ["status", "reasons", "binding"])
    rows_update(Report, reports, ["tier", "flags", "verified_loss_usd", "ticket_status", "status",
                                  "decided_at", "decision_reason", *QUEUE_STATE_FIELDS,
                                  *(("check_queued_until", "check_attempts", "updated_at") if ended else ())])
    return ids


def _recompute_late(citations: dict, transfers: set[tuple[str, str]], ids: list[int]) -> None:
    """Weigh again, once this verdict commits, reports that cited the batch's transfers too late to
    be locked with it: their own verdict ran before they could see this batch's findings."""
    late = {c.report_id for key in transfers for c in citations.get(key, [])} - set(ids)
    if late:
        transaction.on_commit(lambda: reports_recompute(report_ids=sorted(late)))


def _end_checks(reports: list[Report], ended: dict) -> None:
    """Set the in-flight marker each report's ended check leaves; one still "checking" goes to review.

    The other reports' rows are locked (_load): their loaded values are current and written back.
    """
    now = timezone.now()
    for report in reports:
        if report.pk in ended:
            report.check_queued_until, report.check_attempts = ended[report.pk], 0
            if report.status == ReportStatus.CHECKING:
                report.status, report.updated_at = ReportStatus.NEEDS_REVIEW, now


@dataclass
class ReportRows:
    """What a verdict reads besides the reports' own fields, by report id, loaded for all at once."""

    claims: dict[int, list[Claim]]
    results: dict[int, list[CheckResult]]  # the report's own checks (mails, signatures, trade exports)
    attestations: dict[int, list[TicketAttestation]]  # newest first (model ordering)
    evidence: dict[int, int]  # files per report


def _load(ids: list[int]) -> tuple[list[Report], ReportRows]:
    """Lock and read these reports and what their verdicts read, in a few statements.

    Two tasks checking one report at once (its transfers and its support mail) would each see
    only their own new results and the last to commit would store a stale verdict. Locked (in id
    order, so batches cannot deadlock), the later one waits, then reads both. Plain grouped reads
    rather than prefetch_related, which builds a queryset per report and relation.
    """
    reports = list(Report.objects.select_for_update().filter(pk__any=ids).order_by("pk"))
    incidents = Incident.objects.in_bulk({report.incident_id for report in reports})
    for report in reports:  # one row per incident, not one joined (and built) per report
        report.incident = incidents[report.incident_id]
    rows = ReportRows(defaultdict(list), defaultdict(list), defaultdict(list), {})
    for claim in Claim.objects.filter(report_id__any=ids):
        rows.claims[claim.report_id].append(claim)
    for result in CheckResult.objects.filter(report_id__any=ids, claim__isnull=True):
        rows.results[result.report_id].append(result)
    for answer in TicketAttestation.objects.filter(report_id__any=ids):
        rows.attestations[answer.report_id].append(answer)
    rows.evidence.update(Evidence.objects.filter(report_id__any=ids).values_list("report_id")
                         .annotate(n=Count("id")).order_by())
    return reports, rows


def _bind(reports: list[Report], rows: ReportRows) -> None:
    """Set each transfer claim's binding from its report's signature and withdrawal mails."""
    for report in reports:
        results = rows.results[report.pk]
        signers = [r.raw.get("recovered") or "" for r in results
                   if r.check_name == CheckName.OWNERSHIP_SIGNATURE and r.outcome == Outcome.PASS]
        mailed = {tx for r in results if _binding_mail(r) for tx in r.raw.get("tx_hashes", [])}
        for claim in rows.claims[report.pk]:
            if claim.kind == ClaimKind.TRANSFER:
                claim.binding = claim_binding(decided=claim.binding == Binding.DECISION,
                                              sender=claim.chain_sender, signers=signers,
                                              mailed=claim.tx_hash.lower() in mailed)


def _binding_mail(result: CheckResult) -> bool:
    """Say whether a mail can bind: the exchange's own signature covers it and it is to the reporter."""
    raw = result.raw
    return (result.check_name == CheckName.DKIM_SIGNATURE and raw.get("signature_verified") is True
            and raw.get("addressed_to_reporter") is True)


def _weigh_citations(claims: list[Claim], cleared: set[int] = frozenset()) -> dict:
    """Turn each claim's own checked status into its status among the reports citing the transfer.

    ``cleared``: claims whose results were all just replaced (_store): none to delete. Returns
    the citations weighed (citations_of), read under the caller's locks.
    """
    fresh = {claim.pk: claim for claim in claims}
    rivals = citations_of(transfers={(c.chain, c.tx_hash) for c in claims})
    results, now = [], timezone.now()
    for claim in claims:
        others = [fresh.get(c.pk, c) for c in rivals.get((claim.chain, claim.tx_hash), [])
                  if c.pk != claim.pk and _same_transfer(c, claim)]
        status, reasons = citation_status(_citation(claim), [_citation(c) for c in others])
        claim.status = status
        claim.reasons = list(dict.fromkeys([*_own_reasons(claim), *reasons]))
        if claim.checked_status in COMPETING:  # only a citation that holds up can compete
            results.append(_citation_result(claim, status, others, now))
    if stale := [claim.pk for claim in claims if claim.pk not in cleared]:
        CheckResult.objects.filter(claim_id__any=stale, check_name=CheckName.NOT_CLAIMED_ELSEWHERE).delete()
    values_insert(CheckResult, results)
    return rivals


def _same_transfer(a: Claim, b: Claim) -> bool:
    return a.chain == b.chain and (a.log_index is None or b.log_index is None or a.log_index == b.log_index)


def _citation(claim: Claim) -> Citation:
    return Citation(report_id=claim.report_id, checked_status=claim.checked_status, binding=claim.binding)


def _own_reasons(claim: Claim) -> list[str]:
    return [r for r in claim.reasons if r not in ("claimed_elsewhere", "contested")]


def _citation_result(claim: Claim, status: str, others: list[Claim], now: datetime) -> dict:
    """Return the claim's not_claimed_elsewhere result as a row for values_insert."""
    outcome = {ClaimStatus.DUPLICATE: Outcome.FAIL, ClaimStatus.CONTESTED: Outcome.INCONCLUSIVE}
    reasons = {ClaimStatus.DUPLICATE: ["claimed_elsewhere"], ClaimStatus.CONTESTED: ["contested"]}
    raw = {"binding": claim.binding or None, "other_reports": sorted({c.report_id for c in others}),
           "bound_elsewhere": status == ClaimStatus.DUPLICATE}
    return {"report_id": claim.report_id, "claim_id": claim.pk, "evidence_id": None,
            "check_name": CheckName.NOT_CLAIMED_ELSEWHERE, "outcome": outcome.get(status, Outcome.PASS),
            "reasons": reasons.get(status, []), "raw": raw, "provider": "register", "started_at": now,
            "finished_at": now, "attempts": 1}


def _tickets(reports: list[Report], rows: ReportRows) -> dict[int, tuple[str, set[str]]]:
    """Return each report's ticket status and mail flags, weighing earlier reports' verified tickets."""
    bases = {r.pk: _ticket_base(r, rows) for r in reports}
    verified = [r for r in reports if bases[r.pk][0] in EXCHANGE_CONFIRMED]
    outcome = {}
    for report in reports:
        base, flags = bases[report.pk]
        earlier = any(_same_ticket(other, report) and report_order_key(other) < report_order_key(report)
                      for other in verified)
        status, extra = ticket_status(base=base, verified_earlier=earlier)
        outcome[report.pk] = (status, flags | extra)
    return outcome


def _same_ticket(a: Report, b: Report) -> bool:
    return (a.pk != b.pk and a.incident_id == b.incident_id and a.exchange_id == b.exchange_id
            and ticket_key(a.support_ticket_id) == ticket_key(b.support_ticket_id) != "")


def _ticket_base(report: Report, rows: ReportRows) -> tuple[str, set[str]]:
    mails = [r for r in rows.results[report.pk] if r.check_name == CheckName.DKIM_SIGNATURE]
    return ticket_outcome(mails, rows.attestations[report.pk], cites_ticket=bool(report.support_ticket_id))


def _apply(report: Report, verdict, claims: list[Claim]) -> None:
    """Store the verdict; a decided report whose proof weakened goes back to review."""
    weakened = (verdict.verified_loss_usd < report.verified_loss_usd
                or TIER_ORDER.index(verdict.tier) < TIER_ORDER.index(report.tier)
                or bool((set(verdict.flags) - set(report.flags)) & FRAUD_FLAGS - set(report.resolved_flags)))
    if report.status in DECIDED and weakened:
        audit_record(actor=None, action=AuditAction.REPORT_REOPEN, subject=f"report:{report.pk}",
                     data={"status": report.status, "decision_reason": report.decision_reason,
                           "tier": report.tier, "new_tier": verdict.tier})
        report.status, report.decided_at, report.decision_reason = ReportStatus.NEEDS_REVIEW, None, ""
    report.tier, report.flags = verdict.tier, list(verdict.flags)
    report.verified_loss_usd = verdict.verified_loss_usd
    # The moderators' queue columns (incidents.queue_state), from the claims' statuses just weighed.
    state = report_queue_state(flags=report.flags, resolved_flags=report.resolved_flags,
                               claim_statuses=[claim.status for claim in claims])
    for field, value in state.items():
        setattr(report, field, value)


def _facts(report: Report, ticket: tuple[str, set[str]], rows: ReportRows) -> ReportFacts:
    claims, results = rows.claims[report.pk], rows.results[report.pk]
    report.ticket_status = ticket[0]
    has_reference = bool(
        report.support_ticket_id or rows.evidence.get(report.pk)
        or any(c.kind == ClaimKind.TRANSFER for c in claims)
    )
    return ReportFacts(
        claims=tuple(ClaimSummary(c.kind, c.status, c.usd_value, c.binding) for c in claims),
        claimed_loss_usd=report.claimed_loss_usd, tolerance=report.incident.tolerance,
        has_reference=has_reference, ticket_status=ticket[0], mail_flags=frozenset(ticket[1]),
        trade_loss_proven=passed(results, CheckName.TRADE_LOSS_CONSISTENT),
        trade_loss_usd=sum((Decimal(r.raw.get("verified_loss_usd", "0")) for r in results
                            if r.check_name == CheckName.TRADE_LOSS_CONSISTENT and r.outcome == Outcome.PASS),
                           Decimal("0")),
        resolved_flags=frozenset(report.resolved_flags or []),
    )


def passed(results, name: str) -> bool:
    """Say whether a check of this name passed among the results."""
    return any(r.check_name == name and r.outcome == Outcome.PASS for r in results)


def ticket_key(ticket_id: str) -> str:
    """Return a ticket id as compared across reports: trimmed, case-folded."""
    return (ticket_id or "").strip().casefold()


def ticket_outcome(results: list, attestations: list, *, cites_ticket: bool = True) -> tuple[str, set[str]]:
    """Return the ticket status a report's own mails and liaison answers give, and its mail flags."""
    mails = [MailView(r.raw.get("ticket_status", "unsigned"), tuple(r.raw.get("flags", [])),
                      r.raw.get("ticket_id")) for r in results if r.check_name == CheckName.DKIM_SIGNATURE]
    answers = [attestations[0].answer] if attestations else []  # newest answer first (model ordering)
    return ticket_base(cites_ticket=cites_ticket, mails=mails, answers=answers)


def claims_summary(*, report_ids: list[int]) -> dict[str, int]:
    """Count the transfer claims of these reports by status."""
    rows = (Claim.objects.filter(kind=ClaimKind.TRANSFER, report_id__in=report_ids)
            .values_list("status").annotate(n=Count("id")).order_by())
    return dict(rows)
