"""Operations tasks (beat)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from operations.files import files_sweep


@shared_task(ignore_result=True)
def sweep_files_task() -> None:
    """Look for files without rows and rows without files; the result is kept and logged."""
    files_sweep(grace=timedelta(seconds=settings.FILE_SWEEP_GRACE_SECONDS))
