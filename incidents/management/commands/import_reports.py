import contextlib
import itertools
import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from config.progress import Progress
from incidents.copying import PlannerStatistics
from incidents.importers.sheet import Sheet, SheetError, SheetImport, SheetRow, parse_map
from incidents.models import Claim, Incident, Report
from incidents.secrets import SecretRefused
from incidents.services import EvidenceFileError, reports_import
from incidents.uploads import evidence_files_undone_on_error

# Rows written per transaction (per savepoint under --strict): each chunk's reports are queued for
# their checks as it commits, while the rows after it are still being read.
CHUNK_ROWS = 2_000


class ChunkWriter:
    """Write chunks of rows in a thread of its own, while the reading thread reads the next ones.

    Reading a row is Python's work; writing one is mostly the database's (indexes, the commit, the
    checks' queuing). Side by side, an import takes about the time of the slower of the two. One
    writer, on its own connection, takes the chunks in sheet order, so reports get their ids in
    sheet order (a second writer on PostgreSQL measured no faster at 20,000 rows, and interleaved
    the ids). One chunk at most waits for the writer: memory stays bounded, and a chunk is queued
    for its checks a chunk after it was read at most. Inside a transaction (--strict, a caller's)
    the chunks are written inline, on the connection that holds it.
    """

    def __init__(self, incident: Incident, *, threaded: bool):
        self.incident, self.created, self.error, self.stopped = incident, 0, None, False
        # The workers check the first chunks while later ones are written: they read these
        # tables by index only once the planner knows how large the tables have grown.
        self.statistics = PlannerStatistics(Report, Claim)
        self.chunks: queue.Queue = queue.Queue(maxsize=1)
        self.thread = None
        if threaded:
            self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
            self.thread.start()

    def write(self, chunk: list[SheetRow]) -> None:
        """Write ``chunk`` (hand it over, when threaded); raise what an earlier chunk's writing raised."""
        if self.thread is None:
            self._write(chunk)
            return
        self._raise()
        self.chunks.put(chunk)

    def close(self, *, finished: bool) -> None:
        """Wait for the chunks handed over (dropped unless ``finished``); raise what writing raised."""
        self.stopped = not finished
        if self.thread:
            self.chunks.put(None)
            self.thread.join()
        if finished:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            while (chunk := self.chunks.get()) is not None:
                if self.error is None and not self.stopped:
                    self._guarded(chunk)
        finally:
            connections.close_all()  # this thread's own connections

    def _guarded(self, chunk: list[SheetRow]) -> None:
        try:
            self._write(chunk)
        except BaseException as exc:  # raised again in the reading thread
            self.error = exc

    def _write(self, chunk: list[SheetRow]) -> None:
        self.created += len(reports_import(incident=self.incident, rows=chunk))
        self.statistics.grown(len(chunk))


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
            kept = "nothing was imported" if strict else "chunks already written stay; run again to finish"
            raise CommandError(f"{path}: {exc}; {kept}", returncode=2) from None
        self._summarise(sheet, rows, created, options["verbosity"])

    def _import(self, incident: Incident, rows: SheetImport, *, strict: bool) -> int:
        """Check and write the new rows chunk by chunk; under --strict, all in one transaction.

        Each row is checked once, as it is read: a chunk is written (and its reports queued) as soon
        as it is full. Under --strict the first bad row stops the writing, the rest is still read
        so that every bad row is listed, and the transaction rolls back.
        """
        # Under --strict one transaction holds every chunk: if it rolls back, so do their files.
        files = evidence_files_undone_on_error() if strict else contextlib.nullcontext()
        stream = self.stdout if self.verbosity else None
        progress = Progress(label="import", total=rows.total, stream=stream, unit="rows")
        writer = ChunkWriter(incident, threaded=not (strict or connection.in_atomic_block))
        with files, transaction.atomic() if strict else contextlib.nullcontext():
            try:
                # The first chunk is one worker batch: the workers start checking sooner.
                first = min(settings.VERIFY_BATCH_SIZE, CHUNK_ROWS)
                for chunk in _chunks(rows.new_rows(), CHUNK_ROWS, first=first):
                    if not (strict and rows.bad):
                        writer.write(chunk)
                    progress.advance_to(rows.read)
            finally:
                writer.close(finished=sys.exc_info()[0] is None)
            self._refuse_if_strict(rows, strict)  # nothing written stays: roll back
        progress.close()
        return writer.created

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


def _chunks(rows: Iterator[SheetRow], size: int, *, first: int | None = None) -> Iterator[list[SheetRow]]:
    step = first or size
    while chunk := list(itertools.islice(rows, step)):
        yield chunk
        step = size
