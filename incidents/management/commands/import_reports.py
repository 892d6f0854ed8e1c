import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from config.progress import Progress
from incidents.importers.sheet import Sheet, SheetError, SheetImport, SheetRow, parse_map
from incidents.models import Incident
from incidents.secrets import SecretRefused
from incidents.services import EvidenceFileError, reports_import
from incidents.uploads import evidence_files_undone_on_error

# Rows written per transaction (per savepoint under --strict): each chunk's reports are queued for
# their checks as it commits, while the rows after it are still being read.
CHUNK_ROWS = 2_000


class Command(BaseCommand):
    # The system checks import every URL module (and their crypto libraries): seconds at each start
    # of a command that only reads and writes rows; `manage.py check` and migrate still run them.
    requires_system_checks: list = []
    help = ("Import a crowdsourced sheet (CSV or XLSX) of loss reports into an incident, one report per "
            "row; rows imported before are skipped. Exit 1: some rows were bad; 2: nothing imported.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="CSV or XLSX file (evidence paths are relative to it)")
        parser.add_argument("--incident", required=True, metavar="SLUG")
        parser.add_argument("--map", action="append", default=[], dest="mapping", metavar="COLUMN=HEADER,…",
                            help='read columns from other headers, e.g. reporter=Name,tx_hashes="Tx links"')
        parser.add_argument("--strict", action="store_true", help="import nothing when any row is bad")

    def handle(self, *args, path: Path, incident: str, mapping: list[str], strict: bool, **options):
        target = Incident.objects.filter(slug=incident).first()
        if target is None:
            raise CommandError(f"no incident with slug {incident!r}", returncode=2)
        self.verbosity = options["verbosity"]
        try:
            sheet = Sheet(path, mapping=parse_map(mapping))
            rows = SheetImport(target, sheet, started=timezone.now())
            rows.check()  # a file-level error surfaces here, before anything is written
        except SheetError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        if sheet.ignored and options["verbosity"]:
            self.stdout.write(f"Ignored columns: {', '.join(sheet.ignored)}")
        try:
            created = self._import(target, rows, strict=strict)
        except (SheetError, EvidenceFileError, SecretRefused) as exc:
            kept = "nothing was imported" if strict else "chunks written before it stay; run again to finish"
            raise CommandError(f"{path}: {exc}; {kept}", returncode=2) from None
        self._summarise(sheet, rows, created, options["verbosity"])

    def _import(self, incident: Incident, rows: SheetImport, *, strict: bool) -> int:
        """Check and write the new rows chunk by chunk; under --strict, all in one transaction.

        Each row is checked once, as it is read: a chunk is written (and its reports queued) as soon
        as it is full. Under --strict the first bad row stops the writing, the rest is still read
        so that every bad row is listed, and the transaction rolls back.
        """
        created = 0
        # Under --strict one transaction holds every chunk: if it rolls back, so do their files.
        files = evidence_files_undone_on_error() if strict else contextlib.nullcontext()
        stream = self.stdout if self.verbosity else None
        progress = Progress(label="import", total=rows.total, stream=stream, unit="rows")
        with files, transaction.atomic() if strict else contextlib.nullcontext():
            for chunk in _chunks(rows.new_rows(), CHUNK_ROWS):
                if not (strict and rows.bad):
                    created += len(reports_import(incident=incident, rows=chunk))
                progress.advance_to(rows.read)
            self._refuse_if_strict(rows, strict)  # nothing written stays: roll back
        progress.close()
        return created

    def _refuse_if_strict(self, rows: SheetImport, strict: bool) -> None:
        if strict and rows.bad:
            self._list_bad(rows)
            raise CommandError(f"--strict: {len(rows.bad)} bad row(s), so nothing was imported", returncode=2)

    def _list_bad(self, rows: SheetImport) -> None:
        for bad in rows.bad:
            self.stderr.write(f"row {bad.row}: {bad.reason}")

    def _summarise(self, sheet: Sheet, rows: SheetImport, created: int, verbosity: int) -> None:
        for note in rows.emptied:  # imported without the cell: the value itself is never printed
            self.stdout.write(note)
        self._list_bad(rows)
        if verbosity:
            self.stdout.write(f"{sheet.name}: {created} created, {rows.present} already present, "
                              f"{len(rows.bad)} bad.")
        if rows.bad:
            raise CommandError(f"{len(rows.bad)} bad row(s) were not imported (listed above); "
                               f"the good rows were.", returncode=1)


def _chunks(rows: Iterator[SheetRow], size: int) -> Iterator[list[SheetRow]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk
