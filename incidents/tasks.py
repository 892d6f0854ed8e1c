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


@shared_task(ignore_result=True)
def erase_closed_evidence_task() -> None:
    """Erase the evidence files of incidents closed more than EVIDENCE_RETENTION_DAYS ago (beat)."""
    from incidents.retention import evidence_erase_closed

    erased = evidence_erase_closed(
        closed_before=timezone.now() - timedelta(days=settings.EVIDENCE_RETENTION_DAYS))
    for slug, count in erased.items():
        logger.info("erased %s evidence files of closed incident %s", count, slug)
