"""Celery tasks of the dashboards: thin wrappers that take ids and call services."""

from celery import shared_task

from dashboards import services


@shared_task(ignore_result=True)
def rebuild_summary_task(incident_id: int) -> None:
    """Rebuild one incident's live summary if it is still stale (a second copy finds nothing to do).

    While the incident's reports are being checked, the rebuild is put off (and coalesced).
    """
    wait = services.summary_rebuild_delay(incident_id=incident_id)
    if wait and services.summary_rebuild_later(incident_id=incident_id, seconds=wait):
        return
    services.summary_rebuild(incident_id=incident_id)


@shared_task(ignore_result=True)
def refresh_summaries_task() -> None:
    """Catch changes no caller reported: compare each published incident with its summary (beat)."""
    services.summaries_refresh()
