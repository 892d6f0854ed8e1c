"""Off-chain evidence services: ownership proofs, leaked-key membership, liaison answers.

Each writes report-level CheckResult rows and recomputes the report's verdict, so the same
pure function (verification.verdict) decides tiers whatever the evidence.
"""

from django.db import transaction
from django.utils import timezone

from incidents.models import AttestationAnswer, LiaisonBinding, Report, TicketAttestation
from verification.checks.ownership import leaked_key_check, ownership_challenge, signature_check
from verification.checks.transfers import CheckOutcome
from verification.models import CheckResult
from verification.services import reports_recompute


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
