"""A beat scheduler that sends periodic tasks only while it holds the lease in the database.

Start beat twice (a second host, a restart overlapping the old process) and only one sends;
the other waits, and takes over once the holder has stopped renewing for BEAT_LEASE_SECONDS.
"""

import logging
import os
import socket
import uuid
from contextlib import suppress
from datetime import timedelta

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import IntegrityError, close_old_connections
from django.db.models import Q
from django.utils import timezone

from operations.models import BeatLease

logger = logging.getLogger(__name__)
LEASE = "beat"


def beat_lease_hold(*, holder: str, seconds: int) -> bool:
    """Take or renew the beat lease for ``holder``; False while another holder's lease is fresh."""
    now = timezone.now()
    with suppress(IntegrityError):  # created by the other beat meanwhile
        BeatLease.objects.get_or_create(name=LEASE, defaults={"renewed_at": now - timedelta(days=1)})
    # A conditional UPDATE: of two beats racing for a lapsed lease, exactly one changes the row.
    lapsed = Q(renewed_at__lt=now - timedelta(seconds=seconds))
    return BeatLease.objects.filter(Q(holder=holder) | lapsed, name=LEASE).update(
        holder=holder, renewed_at=now) == 1


class LeasedScheduler(PersistentScheduler):
    """Celery's persistent scheduler, sending only while this process holds the beat lease."""

    def __init__(self, *args, **kwargs):
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        close_old_connections()  # beat is long-lived: a connection the database dropped is replaced
        seconds = settings.BEAT_LEASE_SECONDS
        try:
            holds = beat_lease_hold(holder=self.holder, seconds=seconds)
        except Exception:  # the database is down: send nothing rather than risk a second sender
            logger.exception("beat could not reach the lease; sending nothing")
            holds = False
        if holds != self.leading:
            logger.warning("beat %s %s the lease", self.holder, "took" if holds else "lost")
            self.leading = holds
        # Renew at a third of the lease, so a slow tick never lets it lapse under a live holder.
        wait = max(1.0, seconds / 3)
        return min(super().tick(*args, **kwargs), wait) if holds else wait
