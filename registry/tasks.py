"""Release publication by a worker on the exports queue (config/queues.py)."""

from celery import shared_task

from incidents.models import Incident
from registry.services import release_publish


@shared_task(ignore_result=True)
def publish_release_task(incident_id: int) -> None:
    """Publish the next release of an incident (gone: nothing to do)."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is not None:
        release_publish(incident=incident)
