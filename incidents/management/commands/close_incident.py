from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents.models import Incident
from incidents.retention import IncidentClosed, incident_close


class Command(BaseCommand):
    help = ("Close an incident: audited, and its evidence files are erased EVIDENCE_RETENTION_DAYS later "
            "(reports, check results and releases stay).")

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug: str, **options):
        incident = Incident.objects.filter(slug=slug).first()
        if incident is None:
            raise CommandError(f"no incident with slug {slug!r}", returncode=2)
        try:
            incident_close(incident=incident)
        except IncidentClosed as exc:
            raise CommandError(str(exc), returncode=2) from None
        days = settings.EVIDENCE_RETENTION_DAYS
        self.stdout.write(self.style.SUCCESS(f"Closed {slug}; evidence files are erased after {days} days."))
