"""Off-chain evidence services: ownership proofs, leaked-key membership, liaison answers.

Each writes report-level CheckResult rows and recomputes the report's verdict, so the same
pure function (verification.verdict) decides tiers whatever the evidence.
"""

from datetime import UTC, datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from incidents.images import IMAGE_TYPES
from incidents.models import (
    AttestationAnswer,
    Evidence,
    EvidenceKind,
    LiaisonBinding,
    Report,
    ReportStatus,
    TicketAttestation,
)
from incidents.services import evidence_preview_store
from verification.checks.mail import ArchivedKey, MailFileError, mail_check
from verification.checks.ownership import leaked_key_check, ownership_challenge, signature_check
from verification.checks.trades import (
    SignatureEntry,
    TradeFileError,
    parse_export,
    trade_checks,
    trade_loss,
    unreadable_export_checks,
)
from verification.checks.transfers import CheckOutcome
from verification.clients import dns
from verification.leases import lease_release
from verification.models import CheckResult, Outcome
from verification.selectors import prices_for, report_order_key
from verification.services import reports_recompute
from verification.tasks import evidence_verification_enqueue

# Pairs that this many victims traded within one hour form the incident's attack signature.
SIGNATURE_MIN_VICTIMS = 3


class EvidenceRefused(ValueError):
    """The request cannot be accepted; the message says why in words a person can act on."""


def report_challenge(*, report: Report, address: str) -> str:
    """Return the ownership challenge the reporter signs for ``address``."""
    return ownership_challenge(report_id=report.pk, incident_slug=report.incident.slug, address=address)


@transaction.atomic
def ownership_prove(*, report: Report, address: str, signature: str) -> CheckResult:
    """Check a signed challenge for this report and store the outcome."""
    challenge = report_challenge(report=report, address=address)
    outcome = signature_check(challenge=challenge, address=address, signature=signature)
    return _store_report_check(report, outcome, provider="eip-191")


@transaction.atomic
def leaked_key_submit(*, report: Report, key_hash: str) -> CheckResult:
    """Compare the browser-made hash of the reporter's API-key id with the incident's leaked ones."""
    leaked = set(report.incident.leaked_key_hashes.values_list("sha256", flat=True))
    outcome = leaked_key_check(key_hash=key_hash, leaked=leaked)
    if outcome.outcome != "fail" or outcome.reasons != ["hash_malformed"]:
        report.api_key_id_sha256 = key_hash.strip().lower()
        report.save(update_fields=["api_key_id_sha256", "updated_at"])
    return _store_report_check(report, outcome, provider="leaked-key list")


@transaction.atomic
def ticket_attest(*, liaison, report: Report, answer: str) -> TicketAttestation:
    """Record a liaison's answer on the ticket a report cites, for the liaison's own exchange only."""
    binding = LiaisonBinding.objects.filter(user=liaison).select_related("exchange").first()
    if binding is None or report.exchange_id != binding.exchange_id:
        raise EvidenceRefused("This ticket belongs to another exchange; you can only answer for your own.")
    if not report.support_ticket_id:
        raise EvidenceRefused("This report cites no ticket id.")
    if answer not in AttestationAnswer.values:
        raise EvidenceRefused("The answer must be 'attested' or 'denied'.")
    attestation = TicketAttestation.objects.create(
        report=report, exchange=binding.exchange, ticket_id=report.support_ticket_id,
        answer=answer, answered_by=liaison,
    )
    reports_recompute(report_ids=[report.pk])
    return attestation


def _store_report_check(report: Report, outcome: CheckOutcome, *, provider: str) -> CheckResult:
    now = timezone.now()
    result, _ = CheckResult.objects.update_or_create(
        report=report, claim=None, evidence=None, check_name=outcome.name,
        defaults={"outcome": outcome.outcome, "reasons": outcome.reasons, "raw": outcome.raw,
                  "provider": provider, "started_at": now, "finished_at": now, "attempts": 1},
    )
    reports_recompute(report_ids=[report.pk])
    return result


def evidence_verify(*, evidence_id: int) -> None:
    """Run the checks of one evidence file, replace its results and recompute its report."""
    evidence = (Evidence.objects.select_related("report__incident", "report__exchange")
                .filter(pk=evidence_id).first())
    if evidence is None or evidence.report.status == ReportStatus.WITHDRAWN:
        return  # erased or withdrawn in the meantime: nothing left to check
    if evidence.detected_type in IMAGE_TYPES:  # no check reads images; moderators see their preview
        if not evidence.preview:
            evidence_preview_store(evidence=evidence)
        lease_release(model=Evidence, ids=[evidence.pk])
        return
    started = timezone.now()
    first_time = not CheckResult.objects.filter(evidence=evidence).exists()
    data = evidence.file.read() if evidence.file else b""
    outcomes, provider = _evidence_outcomes(evidence, data)
    with transaction.atomic():
        # The report first, as a withdrawal locks it: the same order on both sides cannot deadlock.
        Report.objects.select_for_update().filter(pk=evidence.report_id).exists()
        if not Evidence.objects.filter(pk=evidence.pk).exists():
            return  # erased with its report while it was being checked
        CheckResult.objects.filter(evidence=evidence, claim__isnull=True).delete()
        finished = timezone.now()
        CheckResult.objects.bulk_create(
            CheckResult(report=evidence.report, evidence=evidence, check_name=o.name, outcome=o.outcome,
                        reasons=o.reasons, raw=o.raw, provider=provider, started_at=started,
                        finished_at=finished) for o in outcomes)
        reports_recompute(report_ids=[evidence.report_id])
        lease_release(model=Evidence, ids=[evidence.pk])
        if first_time and evidence.kind == EvidenceKind.TRADE_EXPORT:
            _rejudge_signature_partners(evidence, outcomes)


def _rejudge_signature_partners(evidence: Evidence, outcomes: list[CheckOutcome]) -> None:
    """Queue again the unproven exports that share a pair and hour with this new one.

    A new victim's export can complete the attack signature for earlier ones. Only a first
    check cascades, so re-checks never trigger each other in a loop.
    """
    mine = set(next((o.raw.get("pair_hours", []) for o in outcomes if o.name == "export_parsed"), []))
    if not mine:
        return
    incident = evidence.report.incident
    unproven = (CheckResult.objects.filter(check_name="trade_loss_consistent", report__incident=incident)
                .exclude(outcome=Outcome.PASS).exclude(evidence=evidence)
                .values_list("evidence_id", flat=True))
    partners = CheckResult.objects.filter(check_name="export_parsed", evidence_id__in=list(unproven))
    for partner in partners.only("evidence_id", "raw"):
        if mine & set(partner.raw.get("pair_hours", [])):
            transaction.on_commit(partial(evidence_verification_enqueue, evidence_id=partner.evidence_id))


def _evidence_outcomes(evidence: Evidence, data: bytes) -> tuple[list[CheckOutcome], str]:
    if evidence.kind == EvidenceKind.SUPPORT_EMAIL:
        return _mail_outcomes(evidence, data), "dkim (archive, then DNS)"
    if evidence.kind == EvidenceKind.TRADE_EXPORT:
        return _trade_outcomes(evidence, data), "trade-export parser"
    return [], ""


def _mail_outcomes(evidence: Evidence, data: bytes) -> list[CheckOutcome]:
    report = evidence.report
    exchanges = [report.exchange] if report.exchange else list(report.incident.exchanges.all())
    keys = [ArchivedKey(k.domain, k.selector, k.public_key, k.valid_from, k.valid_to)
            for k in report.incident.dkim_keys.all()]
    try:
        findings = mail_check(
            raw=data, support_domains=[d for e in exchanges for d in e.support_domains],
            ticket_pattern=next((e.ticket_id_regex for e in exchanges if e.ticket_id_regex), ""),
            claimed_ticket=report.support_ticket_id, contact_email=report.contact_email, archived_keys=keys,
            dns_lookup=dns.dkim_txt_lookup,  # looked up at call time: the DNS edge tests replace
        )
    except MailFileError as exc:
        return [CheckOutcome("dkim_signature", Outcome.FAIL, ["not_a_mail"], {"error": str(exc),
                             "ticket_status": "unsigned", "flags": []})]
    return _with_reuse(report, findings)


def _with_reuse(report: Report, findings) -> list[CheckOutcome]:
    """Mark the ticket `duplicate_ticket` when an earlier report already cites the same ticket id."""
    verified = findings.ticket_status == "dkim_verified"
    earlier = _earlier_citation(report, findings.ticket_id) if verified else None
    for outcome in findings.outcomes:
        if earlier is not None:
            outcome.raw.update(ticket_status="duplicate_ticket", earlier_report=earlier,
                               flags=sorted({*outcome.raw.get("flags", []), "ticket_reused"}))
    return findings.outcomes


def _earlier_citation(report: Report, ticket_id: str | None) -> int | None:
    if not ticket_id:
        return None
    cited = set(Report.objects.active().filter(incident=report.incident, support_ticket_id=ticket_id)
                .values_list("pk", flat=True))
    cited |= set(CheckResult.objects.filter(check_name="dkim_signature", raw__ticket_id=ticket_id,
                                            report__incident=report.incident)
                 .exclude(report__status=ReportStatus.WITHDRAWN).values_list("report_id", flat=True))
    cited.discard(report.pk)
    candidates = list(Report.objects.filter(pk__in=cited))
    earlier = [r for r in candidates if report_order_key(r) < report_order_key(report)]
    return min(earlier, key=report_order_key).pk if earlier else None


def _trade_outcomes(evidence: Evidence, data: bytes) -> list[CheckOutcome]:
    """Parse an export, value its in-window trades and judge them against the attack signature."""
    report, incident = evidence.report, evidence.report.incident
    name = evidence.original_name or evidence.sha256
    try:
        export = parse_export(data, filename=name)
    except TradeFileError as exc:
        return unreadable_export_checks(filename=name, error=exc).outcomes
    loss = trade_loss(trades=export.trades, window_start=incident.window_start,
                      window_end=incident.window_end, prices=_trade_prices(export.trades))
    mine = {(t.pair, trade_hour(t.time)) for t in loss.trades}
    findings = trade_checks(export=export, loss=loss, signature=_signature(report, mine),
                            claimed_amount_usd=report.claimed_loss_usd, tolerance=incident.tolerance)
    parsed, consistent = findings.outcomes[0], findings.outcomes[1]
    # Kept so that later exports of other victims can find this one's pairs and hours.
    parsed.raw["pair_hours"] = sorted(f"{pair}|{hour.isoformat()}" for pair, hour in mine)
    if findings.verified_loss_usd is not None:
        consistent.raw["verified_loss_usd"] = str(findings.verified_loss_usd)
    return findings.outcomes


def trade_hour(moment: datetime) -> datetime:
    """Return the UTC hour a trade falls in (the unit of the attack signature)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _trade_prices(trades) -> dict:
    symbols = {t.base_asset for t in trades} | {t.quote_asset for t in trades} | {t.fee_asset for t in trades}
    return prices_for(symbols={s for s in symbols if s}, days={t.time.date() for t in trades})


def _signature(report: Report, mine: set) -> list[SignatureEntry]:
    """Pairs traded by at least three victims of the incident within one hour, this one included."""
    victims: dict[tuple, set[int]] = {key: {report.pk} for key in mine}
    others = (CheckResult.objects.filter(check_name="export_parsed", report__incident=report.incident)
              .exclude(report=report).exclude(report__status=ReportStatus.WITHDRAWN)
              .values_list("report_id", "raw"))
    for report_id, raw in others:
        for item in raw.get("pair_hours", []):
            pair, hour = item.split("|", 1)
            victims.setdefault((pair, datetime.fromisoformat(hour)), set()).add(report_id)
    return [SignatureEntry(pair, hour, len(who)) for (pair, hour), who in victims.items()
            if len(who) >= SIGNATURE_MIN_VICTIMS]
