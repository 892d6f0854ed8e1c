"""Celery tasks of the verification app: thin wrappers that take ids and call services."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from verification import selectors, services
from verification.bounded import BoundedTask

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def record_heartbeat_task() -> None:
    """Record that the worker running this task is alive."""
    services.heartbeat_record(hostname=record_heartbeat_task.request.hostname or "unknown")


@shared_task(ignore_result=True, base=BoundedTask)
def verify_report_task(report_id: int) -> None:
    """Verify one report (a report that is gone is simply skipped)."""
    services.reports_verify(report_ids=[report_id])


@shared_task(ignore_result=True, base=BoundedTask)
def verify_reports_task(report_ids: list[int]) -> None:
    """Verify a batch of reports, reading each chain once for the whole batch."""
    services.reports_verify(report_ids=[int(pk) for pk in report_ids])


@shared_task(ignore_result=True)
def recheck_claims_task() -> None:
    """Queue re-checks: unsettled transfers, lost first checks, exports that lost corroboration (beat)."""
    stuck = selectors.reports_stuck(older_than=timezone.now() - timedelta(minutes=5))
    ids = sorted(set(selectors.reports_to_recheck().values_list("id", flat=True))
                 | set(stuck.values_list("id", flat=True)))
    for batch in chunks(ids, settings.VERIFY_BATCH_SIZE):
        verify_reports_task.delay(batch)
    trade_exports_recheck()


def trade_exports_recheck() -> None:
    """Queue again the proven trade exports whose corroborating report was withdrawn meanwhile."""
    from verification.trade_evidence import trade_exports_lost_corroboration

    for evidence_id in trade_exports_lost_corroboration():
        evidence_verification_enqueue(evidence_id=evidence_id)


def verification_enqueue(*, report_id: int) -> None:
    """Queue a report's first check; if the broker is down, the re-check sweep picks it up later."""
    try:
        verify_report_task.delay(report_id)
    except OperationalError:
        logger.warning("broker unavailable; report %s waits for the re-check sweep", report_id)


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


@shared_task(ignore_result=True, base=BoundedTask)
def verify_evidence_task(evidence_id: int) -> None:
    """Run the checks of one evidence file (support mail, trade export); skip it if it is gone."""
    from verification.evidence import evidence_verify

    evidence_verify(evidence_id=evidence_id)


def evidence_verification_enqueue(*, evidence_id: int) -> None:
    """Queue an evidence file's checks; if the broker is down, `verify` picks it up later."""
    try:
        verify_evidence_task.delay(evidence_id)
    except OperationalError:
        logger.warning("broker unavailable; evidence %s waits for `verify`", evidence_id)
