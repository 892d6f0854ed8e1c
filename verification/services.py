"""Verification services: the business logic that tasks and commands call."""

from django.db import transaction
from django.utils import timezone

from verification.models import Price, WorkerHeartbeat
from verification.prices import PriceRow


def heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Store the time a worker was last seen alive."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:200], defaults={"seen_at": timezone.now()}
    )
    return heartbeat


@transaction.atomic
def prices_import(*, rows: list[PriceRow]) -> int:
    """Insert or update daily prices; return how many rows were written."""
    Price.objects.bulk_create(
        (Price(date=row.date, symbol=row.symbol, usd=row.usd) for row in rows),
        batch_size=2000, update_conflicts=True,
        unique_fields=["symbol", "date"], update_fields=["usd", "imported_at"],
    )
    return len(rows)
