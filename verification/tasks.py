"""Celery tasks of the verification app: thin wrappers that load ids and call services."""

from celery import shared_task

from verification import services


@shared_task(ignore_result=True)
def record_heartbeat_task() -> None:
    """Record that the worker running this task is alive."""
    services.heartbeat_record(hostname=record_heartbeat_task.request.hostname or "unknown")
