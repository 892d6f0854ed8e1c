"""Take on the duties incidents hands up (incidents/hooks.py); installed by VerificationConfig.ready."""

from django.db.models import QuerySet

from incidents import hooks
from verification import selectors, services, tasks


# Looked up on each call, not bound once: a test replacing tasks.verification_enqueue replaces it here too.
def _report_stored(*, report_id: int) -> None:
    tasks.verification_enqueue(report_id=report_id)


def _reports_imported(*, report_ids: list[int], leased: bool = False) -> None:
    tasks.reports_enqueue(report_ids=report_ids, leased=leased)


def _evidence_stored(*, evidence_id: int) -> None:
    tasks.evidence_verification_enqueue(evidence_id=evidence_id)


def _reports_rivals_lost(*, report_ids: list[int]) -> None:
    services.reports_recompute(report_ids=report_ids)


def _check_results() -> QuerySet:
    return selectors.check_results()


def connect() -> None:
    hooks.register(report_stored=_report_stored, reports_imported=_reports_imported,
                   evidence_stored=_evidence_stored, reports_rivals_lost=_reports_rivals_lost,
                   check_results=_check_results)
