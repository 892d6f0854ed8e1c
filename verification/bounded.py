"""A Celery task base that gives up on a message delivered too many times.

With acks_late and task_reject_on_worker_lost, a task whose process dies is delivered again;
one that kills its worker every time would come back forever. Each delivery is counted in
the database under the task id (which stays the same across re-deliveries); past the limit
the task is not run and is marked as given up, where moderators see it.
"""

import logging

from celery import Task
from django.conf import settings
from django.db.models import F

from verification.models import TaskDelivery

logger = logging.getLogger(__name__)


class BoundedTask(Task):
    """Run at most settings.TASK_MAX_DELIVERIES times per message."""

    def __call__(self, *args, **kwargs):
        task_id = self.request.id
        if task_id and delivery_count(task_id=task_id, name=self.name, args=list(args)) > self.limit:
            TaskDelivery.objects.filter(task_id=task_id).update(gave_up=True)
            logger.error("giving up on %s [%s] after %s deliveries", self.name, task_id,
                         settings.TASK_MAX_DELIVERIES)
            return None
        return super().__call__(*args, **kwargs)

    @property
    def limit(self) -> int:
        return settings.TASK_MAX_DELIVERIES

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        """Forget the count once the task has run to an end: only crashed deliveries are kept."""
        if task_id:
            TaskDelivery.objects.filter(task_id=task_id, gave_up=False).delete()


def delivery_count(*, task_id: str, name: str, args: list) -> int:
    """Count one more delivery of ``task_id`` and return the total."""
    row, created = TaskDelivery.objects.get_or_create(task_id=task_id, defaults={"name": name, "args": args})
    if not created:
        TaskDelivery.objects.filter(pk=row.pk).update(deliveries=F("deliveries") + 1)
        row.refresh_from_db(fields=["deliveries"])
        return row.deliveries
    TaskDelivery.objects.filter(pk=row.pk).update(deliveries=1)
    return 1
