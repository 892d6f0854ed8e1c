from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from config.progress import Progress
from incidents.models import Incident
from registry.selectors import register_counts
from registry.services import ReleaseError, register_export, release_copy, release_publish
from registry.tasks import publish_release_task


class Command(BaseCommand):
    help = ("Write an incident's register (reports.csv, claims.csv, register.xlsx, register.ods, "
            "methodology, changelog) with a signed manifest. Without --publish it is a draft written only "
            "to --out; with --publish it becomes the next numbered release in release storage "
            "(RELEASES_ROOT or the bucket); --publish --queue leaves it to a worker of the exports queue.")

    def add_arguments(self, parser):
        parser.add_argument("--incident", required=True, metavar="SLUG")
        parser.add_argument("--out", type=Path, metavar="DIR",
                            help="folder to write (created if needed; must be empty)")
        parser.add_argument("--publish", action="store_true",
                            help="publish release N+1: store it and its changelog, keep the files")
        parser.add_argument("--queue", action="store_true",
                            help="with --publish: queue the publication for a worker and return at once")

    def handle(self, *args, incident: str, out: Path | None, publish: bool, queue: bool, **options):
        target = Incident.objects.filter(slug=incident).first()
        if target is None:
            raise CommandError(f"no incident with slug {incident!r}", returncode=2)
        if out is None and not publish:
            raise CommandError("--out DIR is required (unless --publish)", returncode=2)
        if queue:
            self._queue(target, publish=publish, out=out)
            return
        self.progress = TableProgress(totals=register_counts(incident=target),
                                      stream=self.stdout if options["verbosity"] else None)
        try:
            if publish:
                self._publish(target, out)
            else:
                self._draft(target, out)
        except (ReleaseError, ImproperlyConfigured, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from None

    def _queue(self, incident: Incident, *, publish: bool, out: Path | None) -> None:
        if not publish or out is not None:
            raise CommandError("--queue goes with --publish and without --out", returncode=2)
        publish_release_task.delay(incident.pk)
        self.stdout.write(f"Queued the publication of the next release of {incident.slug}.")

    def _draft(self, incident: Incident, out: Path) -> None:
        manifest = register_export(incident=incident, folder=out, progress=self.progress)
        counts = manifest["counts"]
        self.stdout.write(self.style.SUCCESS(
            f"Wrote a draft export of {incident.slug} to {out}: {counts['reports']} reports, "
            f"{counts['claims']} claims, {len(manifest['files'])} files, signed (not a release)."))

    def _publish(self, incident: Incident, out: Path | None) -> None:
        release = release_publish(incident=incident, progress=self.progress)
        if out is not None:
            release_copy(release=release, folder=out)
        changes = {k: len(v) for k, v in release.changelog.items() if isinstance(v, list)}
        self.stdout.write(self.style.SUCCESS(
            f"Published release {release.number} of {incident.slug}: {release.report_count} reports, "
            f"{release.claim_count} claims, in {release.folder} of release storage"
            + (f" and {out}" if out else "") + f". Changes: {changes}"))
        if not incident.published:
            self.stdout.write(f"Note: incident {incident.slug} is not published; its releases stay off the "
                              "public pages until it is.")


class TableProgress:
    """Show the export's progress table by table (reports, then claims) as the rows are written."""

    def __init__(self, *, totals: dict[str, int], stream):
        self.totals, self.stream = totals, stream
        self.shown: Progress | None = None
        self.finished: set[str] = set()

    def __call__(self, table: str, rows: int) -> None:
        """Record that ``rows`` rows of ``table`` are written."""
        if table in self.finished:
            return
        if self.shown is None or self.shown.label != table:
            self.close()
            self.shown = Progress(label=table, total=max(self.totals.get(table, 0), rows), stream=self.stream)
        self.shown.advance_to(rows)
        if rows >= self.shown.total:
            self.close()

    def close(self) -> None:
        """Show the last state of the table in progress."""
        if self.shown is not None:
            self.shown.close()
            self.finished.add(self.shown.label)
            self.shown = None
