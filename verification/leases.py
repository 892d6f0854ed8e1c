"""At most one verification in flight per report and per evidence file: an expiring marker.

A row is claimed by setting `check_queued_until` only where it is empty or past, under a row
lock, so two sweepers (or a sweep and `verify`) cannot both queue it. The task clears the marker
when its check has run to the end; a check that ended on a provider error keeps it for a
back-off, so a hanging provider is asked again after RECHECK_BACKOFF_SECONDS, not every minute.
A marker left by a task that died expires after VERIFY_LEASE_SECONDS. `check_attempts` counts
claims since a check last ran to its end; the sweep stops at TASK_MAX_DELIVERIES, like the
deliveries of one message (verification.bounded). Read by the throughput work as well.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model, Q
from django.utils import timezone

SLICE = 10_000


def _free(now) -> Q:
    return Q(check_queued_until__isnull=True) | Q(check_queued_until__lt=now)


def lease_claim(*, model: type[Model], ids: list[int], sweep: bool = False,
                where: Q | None = None) -> list[int]:
    """Mark these rows in flight where none is; return the ids claimed, in order.

    ``sweep``: skip rows whose checks never ran to the end TASK_MAX_DELIVERIES times running.
    ``where``: claim only rows that still match it once locked (e.g. still unchecked).
    """
    if not ids:
        return []
    now, ids = timezone.now(), sorted(set(ids))  # slices lock in id order: two callers cannot deadlock
    claimed: list[int] = []
    with transaction.atomic():
        for start in range(0, len(ids), SLICE):  # SQLite takes at most 32,766 variables a query
            claimed += _claim_slice(model, ids[start:start + SLICE], now, sweep=sweep, where=where)
    return sorted(claimed)


def _claim_slice(model: type[Model], ids: list[int], now, *, sweep: bool, where: Q | None) -> list[int]:
    rows = model.objects.filter(_free(now), pk__any=ids)
    if sweep:
        rows = rows.filter(check_attempts__lt=settings.TASK_MAX_DELIVERIES)
    claimed = sorted(rows.select_for_update().values_list("pk", flat=True))
    if where is not None and claimed:
        # A second statement, after the locks: a check that freed a row while we waited for
        # its lock has committed, and this statement sees what it wrote (the row no longer
        # matches), so the report is not queued for a second check.
        claimed = sorted(model.objects.filter(where, pk__any=claimed).values_list("pk", flat=True))
    model.objects.filter(pk__any=claimed).update(
        check_queued_until=now + timedelta(seconds=settings.VERIFY_LEASE_SECONDS),
        check_attempts=F("check_attempts") + 1)
    return claimed


def lease_release(*, model: type[Model], ids: list[int], failed: bool = False) -> None:
    """End the marker of checks that ran to the end; ``failed`` (a provider error) keeps it a while."""
    model.objects.filter(pk__any=ids).update(check_queued_until=lease_end(failed=failed), check_attempts=0)


def lease_end(*, failed: bool = False):
    """Return the marker a check leaves when it ends: none, or a back-off after a provider error."""
    return timezone.now() + timedelta(seconds=settings.RECHECK_BACKOFF_SECONDS) if failed else None


def lease_drop(*, model: type[Model], ids: list[int]) -> None:
    """Give a claim back when the work could not be queued (broker down): the sweep takes it later."""
    model.objects.filter(pk__any=ids).update(check_queued_until=None)
