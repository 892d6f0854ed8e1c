"""Incident housekeeping tasks (beat)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from incidents.drafts import drafts_purge

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def purge_drafts_task() -> None:
    """Erase report drafts abandoned for longer than DRAFT_RETENTION_DAYS, with their files."""
    cutoff = timezone.now() - timedelta(days=settings.DRAFT_RETENTION_DAYS)
    count = drafts_purge(older_than=cutoff)
    if count:
        logger.info("erased %s abandoned report drafts", count)
