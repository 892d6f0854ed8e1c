from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents.importers.incident_file import IncidentFileError, read_incident_file
from incidents.services import incident_load


class Command(BaseCommand):
    help = "Create or update (by slug) an incident from a JSON file; see README, 'Incident file'."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="incident JSON file")

    def handle(self, *args, path: Path, **options):
        try:
            incident, created = incident_load(spec=read_incident_file(path))
        except IncidentFileError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        verb = "Created" if created else "Updated"
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"{verb} incident {incident.slug!r} ({incident.title})."))
