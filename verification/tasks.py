"""Celery tasks of the verification app: thin wrappers that take ids and call services."""

from celery import shared_task
from django.conf import settings

from verification import selectors, services


@shared_task(ignore_result=True)
def record_heartbeat_task() -> None:
    """Record that the worker running this task is alive."""
    services.heartbeat_record(hostname=record_heartbeat_task.request.hostname or "unknown")


@shared_task(ignore_result=True)
def verify_report_task(report_id: int) -> None:
    """Verify one report (a report that is gone is simply skipped)."""
    services.reports_verify(report_ids=[report_id])


@shared_task(ignore_result=True)
def verify_reports_task(report_ids: list[int]) -> None:
    """Verify a batch of reports, reading each chain once for the whole batch."""
    services.reports_verify(report_ids=[int(pk) for pk in report_ids])


@shared_task(ignore_result=True)
def recheck_claims_task() -> None:
    """Queue re-checks of reports whose transfers are not settled yet (beat, every minute)."""
    ids = list(selectors.reports_to_recheck().values_list("id", flat=True))
    for batch in chunks(ids, settings.VERIFY_BATCH_SIZE):
        verify_reports_task.delay(batch)


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]
