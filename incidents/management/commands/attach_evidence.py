from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents.models import EvidenceKind, Report
from incidents.secrets import SecretRefused
from incidents.services import EvidenceFileError, evidence_attach


class Command(BaseCommand):
    help = "Attach a file (support mail .eml, trade export, police report…) to a report and queue its checks."

    def add_arguments(self, parser):
        parser.add_argument("report_id", type=int)
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", required=True, choices=EvidenceKind.values)

    def handle(self, *args, report_id: int, path: Path, kind: str, **options):
        report = Report.objects.active().filter(pk=report_id).first()
        if report is None:
            raise CommandError(f"no report {report_id}", returncode=2)
        try:
            data = path.read_bytes()
            evidence = evidence_attach(report=report, kind=kind, data=data, original_name=path.name)
        except OSError as exc:
            raise CommandError(f"{path}: cannot read the file: {exc.strerror}", returncode=2) from None
        except (EvidenceFileError, SecretRefused) as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        if options["verbosity"]:
            message = f"Attached {path.name} as {kind} (sha256 {evidence.sha256})."
            self.stdout.write(self.style.SUCCESS(message))
