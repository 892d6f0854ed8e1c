"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("lossproof")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def worker_priority_lower(**kwargs) -> None:
    """Run the worker at the scheduling priority WORKER_NICE, unless it was started lower still.

    Checks are bulk work nobody watches; the web server, an operator's import and PostgreSQL are
    waited on. Sharing a machine, the worker takes the CPU they leave (docs/scaling.md). Sent in
    the main thread before the pool starts: its processes and threads inherit the priority.
    """
    from django.conf import settings

    if os.getpriority(os.PRIO_PROCESS, 0) < settings.WORKER_NICE:
        os.setpriority(os.PRIO_PROCESS, 0, settings.WORKER_NICE)
