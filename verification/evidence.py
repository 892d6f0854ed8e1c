"""Off-chain evidence services: ownership proofs, leaked-key membership, liaison answers.

Each writes report-level CheckResult rows and recomputes the report's verdict, so the same
pure function (verification.verdict) decides tiers whatever the evidence.
"""


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
from incidents.vocabulary import CheckName
from verification.checks.common import CheckOutcome
from verification.checks.mail import ArchivedKey, MailFileError, mail_check
from verification.checks.ownership import leaked_key_check, ownership_challenge, signature_check
from verification.clients import dns
from verification.leases import lease_release
from verification.models import CheckResult, Outcome
from verification.services import reports_recompute
from verification.trade_evidence import (
    ExportState,
    export_state,
    outcomes_state,
    trade_export_judge,
    trade_export_prepare,
    trade_partners_rejudge,
)

# What the verdict reads from a mail result, for a file that is no mail at all.
NOT_A_MAIL = {"ticket_status": "unsigned", "flags": [], "ticket_id": "", "signature_verified": False,
              "addressed_to_reporter": False, "tx_hashes": [], "mail_date": None}


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
    if not evidence.file:
        return  # erased after its incident closed: the results found while it existed stand
    if evidence.detected_type in IMAGE_TYPES:  # no check reads images; moderators see their preview
        if not evidence.preview:
            evidence_preview_store(evidence=evidence)
        lease_release(model=Evidence, ids=[evidence.pk])
        return
    started = timezone.now()
    data = evidence.file.read() if evidence.file else b""
    trade = evidence.kind == EvidenceKind.TRADE_EXPORT
    prepared = trade_export_prepare(evidence=evidence, data=data) if trade else None
    outcomes, provider = ([], "trade-export parser") if trade else _evidence_outcomes(evidence, data)
    with transaction.atomic():
        # The report first, as a withdrawal locks it: the same order on both sides cannot deadlock.
        Report.objects.select_for_update().filter(pk=evidence.report_id).exists()
        if not Evidence.objects.filter(pk=evidence.pk).exists():
            return  # erased with its report while it was being checked
        before = export_state(evidence=evidence) if trade else ExportState()
        if trade:
            outcomes = trade_export_judge(evidence=evidence, prepared=prepared)
        _store_evidence_checks(evidence, outcomes, provider, started)
        lease_release(model=Evidence, ids=[evidence.pk])
        if trade:
            trade_partners_rejudge(evidence=evidence, before=before, after=outcomes_state(outcomes))


def _store_evidence_checks(evidence: Evidence, outcomes: list[CheckOutcome], provider: str, started) -> None:
    CheckResult.objects.filter(evidence=evidence, claim__isnull=True).delete()
    finished = timezone.now()
    CheckResult.objects.bulk_create(
        CheckResult(report=evidence.report, evidence=evidence, check_name=o.name, outcome=o.outcome,
                    reasons=o.reasons, raw=o.raw, provider=provider, started_at=started,
                    finished_at=finished) for o in outcomes)
    reports_recompute(report_ids=[evidence.report_id])


def _evidence_outcomes(evidence: Evidence, data: bytes) -> tuple[list[CheckOutcome], str]:
    if evidence.kind == EvidenceKind.SUPPORT_EMAIL:
        return _mail_outcomes(evidence, data), "dkim (archive, then DNS)"
    return [], ""


def _mail_outcomes(evidence: Evidence, data: bytes) -> list[CheckOutcome]:
    """Judge a support mail for its report; whether its ticket is verified elsewhere is the verdict's."""
    report = evidence.report
    exchanges = [report.exchange] if report.exchange else list(report.incident.exchanges.all())
    keys = [ArchivedKey(k.domain, k.selector, k.public_key, k.valid_from, k.valid_to)
            for k in report.incident.dkim_keys.all()]
    try:
        findings = mail_check(
            raw=data, support_domains=[d for e in exchanges for d in e.support_domains],
            ticket_pattern=next((e.ticket_id_regex for e in exchanges if e.ticket_id_regex), ""),
            claimed_ticket=report.support_ticket_id, contact_email=report.contact_email,
            exchange_email=report.exchange_email, archived_keys=keys,
            dns_lookup=dns.dkim_txt_lookup,  # looked up at call time: the DNS edge tests replace
        )
    except MailFileError as exc:
        raw = {"error": str(exc), **NOT_A_MAIL}
        return [CheckOutcome(CheckName.DKIM_SIGNATURE, Outcome.FAIL, ["not_a_mail"], raw)]
    return findings.outcomes
