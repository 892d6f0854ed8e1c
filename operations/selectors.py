"""What operators see, read when asked: from the database and the broker (the work is in workers)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Min
from django.utils import timezone
from kombu.exceptions import ChannelError

from config.celery import app
from config.queues import queue_names
from incidents.models import Report, ReportStatus
from operations.models import BeatLease, FileSweep
from verification import selectors as results

# Provider errors and latency are read over this recent window (the alert rules assume it).
PROVIDER_WINDOW = timedelta(minutes=15)


@dataclass
class Snapshot:
    """The figures behind /metrics and the operator page."""

    queues: dict[str, int | None]  # None: the broker did not answer
    oldest_unchecked_seconds: float | None
    checks: list[dict]
    providers: list[dict]
    beat_age_seconds: float | None
    beat_holder: str
    workers: list[dict]
    tasks_given_up: int
    last_sweep: FileSweep | None = None


def snapshot() -> Snapshot:
    """Read every figure once."""
    lease = BeatLease.objects.filter(name="beat").first()
    return Snapshot(
        queues=queue_depths(), oldest_unchecked_seconds=oldest_unchecked_seconds(),
        checks=checks_per_outcome(), providers=provider_calls(),
        beat_age_seconds=_age(lease.renewed_at) if lease and lease.holder else None,
        beat_holder=lease.holder if lease else "",
        workers=[{"hostname": w.hostname, "age_seconds": _age(w.seen_at)}
                 for w in results.worker_heartbeats()],
        tasks_given_up=results.tasks_given_up_count(),
        last_sweep=FileSweep.objects.order_by("-ran_at").first(),
    )


def _age(moment) -> float:
    return max(0.0, (timezone.now() - moment).total_seconds())


def oldest_unchecked_seconds() -> float | None:
    """Age of the oldest report still waiting for or in its first check (None when there is none)."""
    waiting = Report.objects.filter(status__in=[ReportStatus.SUBMITTED, ReportStatus.CHECKING])
    oldest = waiting.aggregate(oldest=Min("created_at"))["oldest"]
    return _age(oldest) if oldest else None


def checks_per_outcome() -> list[dict]:
    """Stored check results per check and outcome."""
    return results.checks_per_outcome()


def provider_calls() -> list[dict]:
    """Calls, errors and latency per chain endpoint over the recent window."""
    return results.provider_calls_since(since=timezone.now() - PROVIDER_WINDOW)


def queue_depths() -> dict[str, int | None]:
    """Messages waiting in each queue of this deployment, as the broker counts them."""
    names = queue_names(app.conf.task_default_queue)
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return {name: _depth(conn, name) for name in names}
    except Exception:  # broker unreachable: depths unknown, which the metric says by its absence
        return dict.fromkeys(names)


def _depth(conn, name: str) -> int:
    try:
        return conn.default_channel.queue_declare(queue=name, passive=True).message_count
    except ChannelError:
        return 0  # never declared: nothing ever waited there
