"""The register's files: its rows, and writers that stream them to CSV, XLSX and ODS.

Rows come from the database in chunks (``values_list`` + ``iterator``, no model instances for
claims) and go to every writer at once, so one pass serves all formats and memory stays flat.
"""

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from incidents.models import Incident, Report
from incidents.refs import report_ref_derive, report_ref_key
from registry.methodology import METHODOLOGY_HEADER, methodology_rows
from registry.ods import OdsWriter
from registry.selectors import register_claims, register_report_chunks, report_extras

# The register's columns (docs/methodology.md, "Releases"): fixed, in this order; scripts depend on them.
REPORT_HEADER = ["report_ref", "source", "exchange", "claimed_loss_usd", "verified_loss_usd", "tier",
                 "status", "flags", "evidence_kinds", "transfers_claimed", "transfers_verified",
                 "ticket_status", "decided_at", "decision_reason", "resolved_flags", "police_report_cited"]
CLAIM_HEADER = ["report_ref", "kind", "chain", "tx_hash", "log_index", "asset", "amount", "from_address",
                "to_address", "block_number", "block_time", "usd_value", "status", "reasons", "period_start",
                "period_end"]
# What a spreadsheet would read as a formula (or DDE) when a text cell starts with it.
FORMULA_START = frozenset("=+-@\t\r")
# Excel's and LibreOffice's rows per sheet, header included; longer tables continue on "claims 2".
SHEET_MAX_ROWS = 1_048_576
CSV_FILES = {"reports": "reports.csv", "claims": "claims.csv"}
XLSX_FILE, ODS_FILE = "register.xlsx", "register.ods"
# Rows between two calls of an export's progress callback: often enough for a live bar, rare
# enough to cost nothing next to writing three formats.
PROGRESS_ROWS = 2_000
Progressed = Callable[[str, int], None]  # (table name, rows written so far)


def report_ref(report_id: int) -> str:
    """Return the report's stable pseudonym, as stored when it was created (incidents.refs).

    For a report no longer stored (erased), the ref the current key gives it: right for every
    report created since the key's last rotation, which is what the live summary needs to drop it.
    """
    stored = Report.objects.filter(pk=report_id).values_list("report_ref", flat=True).first()
    return stored or report_ref_derive(report_id, report_ref_key())


def neutralise(text: str) -> str:
    """Prefix a quote to text a spreadsheet would otherwise run as a formula."""
    return "'" + text if text[:1] in FORMULA_START else text


def iso_utc(moment: datetime | None) -> str | None:
    """Return a UTC time as 2022-11-15T10:00:00Z, or None."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def exact(amount: Decimal | None) -> str | None:
    """Return a token amount as exact plain text without trailing zeros (never as a float)."""
    return None if amount is None else format(amount.normalize(), "f")


def report_rows(*, incident: Incident, report_ids: list[int] | None = None) -> Iterator[list]:
    """Yield reports.csv rows (typed cells) for every non-withdrawn report of the incident."""
    for chunk in register_report_chunks(incident=incident, report_ids=report_ids):
        extras = report_extras(report_ids=[row.id for row in chunk])
        for row in chunk:
            extra = extras[row.id]
            yield [row.report_ref, Report.source_label.fget(row),  # same rule as the model's
                   row.exchange__name or "", row.claimed_loss_usd, row.verified_loss_usd, row.tier,
                   row.status, ";".join(sorted(row.flags or [])), ";".join(sorted(extra.evidence_kinds)),
                   extra.transfers_claimed, extra.transfers_verified, row.ticket_status or "none",
                   iso_utc(row.decided_at), row.decision_reason, ";".join(sorted(row.resolved_flags or [])),
                   "yes" if row.police_report.strip() else "no"]


def claim_rows(*, incident: Incident, report_ids: list[int] | None = None) -> Iterator[list]:
    """Yield claims.csv rows (typed cells) for the claims of the incident's non-withdrawn reports."""
    claims = register_claims(incident=incident, report_ids=report_ids)
    for (ref, kind, chain, tx_hash, log_index, asset, amount, from_address, to_address,
         block_number, block_time, usd_value, status, reasons, period_start, period_end) in claims:
        yield [ref, kind, chain, tx_hash, log_index, asset, exact(amount), from_address, to_address,
               block_number, iso_utc(block_time), usd_value, status, ";".join(reasons or []),
               iso_utc(period_start), iso_utc(period_end)]


class CsvSink:
    """Write the tables that have a file name (reports, claims) to one CSV file each."""

    def __init__(self, folder: Path):
        self.folder, self.handle, self.writer = folder, None, None

    def table(self, name: str, header: list[str]) -> None:
        """Start the file for table ``name``, or ignore the table when it has no CSV file."""
        self.close()
        if name in CSV_FILES:
            self.handle = open(self.folder / CSV_FILES[name], "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.writer = csv.writer(self.handle)
            self.writer.writerow(header)

    def row(self, cells: list) -> None:
        """Write one row to the current file, if any: money with two decimals, None as empty."""
        if self.writer is not None:
            # Inline on purpose: a call per cell costs seconds over a million rows (bench/register_scale.py).
            self.writer.writerow([f"{cell:.2f}" if cell.__class__ is Decimal else cell for cell in cells])

    def close(self) -> None:
        """Close the current file."""
        if self.handle is not None:
            self.handle.close()
        self.handle, self.writer = None, None


class XlsxSink:
    """Write tables as sheets of register.xlsx in XlsxWriter's constant-memory mode."""

    def __init__(self, path: Path, created_at: datetime):
        # Cells are written with explicit types, and these options make sure no string is ever
        # turned into a formula, a number or a link behind our back.
        self.book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False})
        self.book.set_properties({"title": "Lossproof register", "created": created_at})
        self.bold = self.book.add_format({"bold": True})
        self.money = self.book.add_format({"num_format": "0.00"})
        self.sheet, self.line = None, 0

    def table(self, name: str, header: list[str]) -> None:
        """Start a new sheet named ``name`` with a bold header row."""
        self.sheet, self.line = self.book.add_worksheet(name), 1
        for column, title in enumerate(header):
            self.sheet.write_string(0, column, title, self.bold)

    def row(self, cells: list) -> None:
        """Write one row: text as text, money and counts as numbers, None as an empty cell."""
        for column, value in enumerate(cells):
            if isinstance(value, str):
                self.sheet.write_string(self.line, column, value)
            elif isinstance(value, Decimal):
                self.sheet.write_number(self.line, column, float(value), self.money)
            elif value is not None:
                self.sheet.write_number(self.line, column, value)
        self.line += 1

    def close(self) -> None:
        """Write the workbook out."""
        self.book.close()


class Paged:
    """Continue a table on a new sheet ("claims 2", …) when it reaches a spreadsheet's row limit."""

    def __init__(self, sink):
        self.sink, self.name, self.header, self.page, self.lines = sink, "", [], 1, 0

    def table(self, name: str, header: list[str]) -> None:
        """Start table ``name`` on its first sheet."""
        self.name, self.header, self.page, self.lines = name, header, 1, 1
        self.sink.table(name, header)

    def row(self, cells: list) -> None:
        """Write one row, opening the next sheet first when this one is full."""
        if self.lines >= SHEET_MAX_ROWS:
            self.page, self.lines = self.page + 1, 1
            self.sink.table(f"{self.name} {self.page}", self.header)
        self.sink.row(cells)
        self.lines += 1

    def close(self) -> None:
        """Close the underlying writer."""
        self.sink.close()


def register_write(*, incident: Incident, folder: Path, created_at: datetime,
                   formats: Iterable[str] = ("csv", "xlsx", "ods"), report_ids: list[int] | None = None,
                   progress: Progressed | None = None) -> dict[str, int]:
    """Write the register into ``folder`` in the given formats; return the row counts.

    ``progress(table, rows)`` is called every PROGRESS_ROWS rows of the reports and claims tables
    and once at each table's end.
    """
    with ExitStack() as stack:
        sinks = [_open_sink(kind, folder, created_at) for kind in formats]
        for sink in sinks:
            stack.callback(sink.close)
        reports = report_rows(incident=incident, report_ids=report_ids)
        claims = claim_rows(incident=incident, report_ids=report_ids)
        counts = {"reports": _table(sinks, "reports", REPORT_HEADER, reports, progress),
                  "claims": _table(sinks, "claims", CLAIM_HEADER, claims, progress)}
        _table(sinks, "methodology", METHODOLOGY_HEADER, methodology_rows())
    return counts


def _open_sink(kind: str, folder: Path, created_at: datetime):
    if kind == "csv":
        return CsvSink(folder)
    if kind == "xlsx":
        return Paged(XlsxSink(folder / XLSX_FILE, created_at))
    if kind == "ods":
        return Paged(OdsWriter(folder / ODS_FILE, created_at))
    raise ValueError(f"unknown register format {kind!r}")


def _table(sinks: list, name: str, header: list[str], rows: Iterable[list],
           progress: Progressed | None = None) -> int:
    """Send one table to every sink, neutralising text cells once for all; return its row count."""
    for sink in sinks:
        sink.table(name, header)
    count = 0
    for row in rows:
        cells = [("'" + cell if cell[:1] in FORMULA_START else cell) if cell.__class__ is str else cell
                 for cell in row]  # neutralise(), inlined for speed
        for sink in sinks:
            sink.row(cells)
        count += 1
        if progress is not None and count % PROGRESS_ROWS == 0:
            progress(name, count)
    if progress is not None:
        progress(name, count)
    return count


def file_digest(path: Path) -> dict:
    """Return the file's sha256 (hex) and size in bytes, reading it in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return {"sha256": digest.hexdigest(), "size": size}


def canonical_json(value) -> bytes:
    """Return ``value`` as canonical JSON: sorted keys, 2-space indent, UTF-8, trailing newline."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
