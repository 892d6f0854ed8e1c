"""A worker's sign of life, written on a timer by a thread of the worker's main process.

`verify --wait` must know within about two seconds whether a worker consumes the queue. A
heartbeat task cannot tell: it waits behind thousands of queued reports. A thread started when
the worker is ready writes the record every WORKER_HEARTBEAT_SECONDS instead, and the record is
removed when the worker shuts down.
"""

import logging
import socket
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)
_stop = threading.Event()
_beating: list[str] = []  # the hostname this process beats for, once started


def worker_alive(*, queue: str, within: float | None = None) -> bool:
    """Say whether a worker consuming ``queue`` recorded a heartbeat recently (three beats by default)."""
    from verification.models import WorkerHeartbeat

    window = within if within is not None else 3 * settings.WORKER_HEARTBEAT_SECONDS
    since = timezone.now() - timezone.timedelta(seconds=window)
    fresh = WorkerHeartbeat.objects.filter(seen_at__gte=since).values_list("queues", flat=True)
    return any(queue in (queues or []) for queues in fresh)


def _queues(consumer) -> list[str]:
    try:
        return list(consumer.app.amqp.queues.consume_from)
    except AttributeError:  # no consumer at hand: the default queue is the best guess
        return [settings.CELERY_TASK_DEFAULT_QUEUE]


def _beat(hostname: str, queues: list[str]) -> None:
    from verification.services import heartbeat_record

    while not _stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
        try:
            heartbeat_record(hostname=hostname, queues=queues)
        except Exception:  # a database hiccup must not kill the thread; the next beat retries
            logger.warning("could not record the worker heartbeat", exc_info=True)
        finally:
            close_old_connections()


@worker_ready.connect
def start_heartbeat(sender=None, **kwargs) -> None:
    """Start the heartbeat thread once the worker accepts work."""
    from verification.services import heartbeat_record

    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    queues = _queues(sender)
    heartbeat_record(hostname=hostname, queues=queues)
    _stop.clear()
    _beating[:] = [hostname]
    threading.Thread(target=_beat, args=(hostname, queues), name="heartbeat", daemon=True).start()


@worker_shutdown.connect
def stop_heartbeat(sender=None, **kwargs) -> None:
    """Stop beating and remove the record, so `verify` stops counting on this worker at once."""
    from verification.models import WorkerHeartbeat

    _stop.set()
    if _beating:
        WorkerHeartbeat.objects.filter(hostname=_beating[0][:200]).delete()
