"""Celery tasks of the verification app: thin wrappers that take ids and call services."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from incidents.models import Evidence, Report
from verification import heartbeat, selectors, services  # noqa: F401 - heartbeat: the worker's timer
from verification.bounded import BoundedTask
from verification.leases import lease_claim, lease_drop

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
    """Queue re-checks of unsettled transfers, of reports and files whose check never ended (beat).

    Each is queued only when no check of it is in flight (verification.leases): a provider that
    hangs leaves one message per report, not one more every minute.
    """
    stuck = selectors.reports_stuck(older_than=timezone.now() - timedelta(minutes=5))
    ids = sorted(set(selectors.reports_to_recheck().values_list("id", flat=True))
                 | set(stuck.values_list("id", flat=True)))
    reports_enqueue(report_ids=ids, sweep=True)
    evidence_enqueue(evidence_ids=list(selectors.evidence_to_verify().values_list("id", flat=True)),
                     sweep=True)
    trade_exports_recheck()


def trade_exports_recheck() -> None:
    """Queue again the proven trade exports whose corroborating report was withdrawn meanwhile."""
    from verification.trade_evidence import trade_exports_lost_corroboration

    for evidence_id in trade_exports_lost_corroboration():
        evidence_verification_enqueue(evidence_id=evidence_id)


def verification_enqueue(*, report_id: int) -> None:
    """Queue a report's first check; if the broker is down, the re-check sweep picks it up later."""
    if not lease_claim(model=Report, ids=[report_id]):
        return  # already queued or running
    try:
        verify_report_task.delay(report_id)
    except OperationalError:
        lease_drop(model=Report, ids=[report_id])
        logger.warning("broker unavailable; report %s waits for the re-check sweep", report_id)


def reports_enqueue(*, report_ids: list[int], sweep: bool = False, unchecked_only: bool = False,
                    leased: bool = False) -> list[int]:
    """Queue checks of these reports in batches, skipping those in flight; return the ids queued.

    ``unchecked_only``: skip, too, reports whose check ended since they were selected.
    ``leased``: the caller wrote these rows in flight itself (a sheet import): queue them all.
    """
    where = selectors.report_needs_check() if unchecked_only else None
    claimed = sorted(report_ids) if leased else lease_claim(model=Report, ids=report_ids, sweep=sweep,
                                                            where=where)
    batches = chunks(claimed, settings.VERIFY_BATCH_SIZE)
    for index, batch in enumerate(batches):
        try:
            verify_reports_task.delay(batch)
        except OperationalError:  # stop asking a broker that is down; the re-check sweep catches up
            lease_drop(model=Report, ids=[pk for rest in batches[index:] for pk in rest])
            logger.warning("broker unavailable; reports from id %s on wait for the re-check sweep", batch[0])
            return [pk for done in batches[:index] for pk in done]
    return claimed


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


@shared_task(ignore_result=True, base=BoundedTask)
def verify_evidence_task(evidence_id: int) -> None:
    """Run the checks of one evidence file (support mail, trade export); skip it if it is gone."""
    from verification.evidence import evidence_verify

    evidence_verify(evidence_id=evidence_id)


def evidence_verification_enqueue(*, evidence_id: int) -> None:
    """Queue an evidence file's checks; if the broker is down, the re-check sweep picks it up later."""
    evidence_enqueue(evidence_ids=[evidence_id])


def evidence_enqueue(*, evidence_ids: list[int], sweep: bool = False) -> list[int]:
    """Queue the checks of these files, skipping those in flight; return the ids queued."""
    claimed = lease_claim(model=Evidence, ids=evidence_ids, sweep=sweep)
    for index, evidence_id in enumerate(claimed):
        try:
            verify_evidence_task.delay(evidence_id)
        except OperationalError:
            lease_drop(model=Evidence, ids=claimed[index:])
            logger.warning("broker unavailable; evidence %s waits for the re-check sweep", evidence_id)
            return claimed[:index]
    return claimed
