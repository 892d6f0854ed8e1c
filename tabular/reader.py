"""Read a CSV or XLSX file row by row within limits the caller passes in.

Told apart by content, never by name. CSV is UTF-8 (with or without BOM) or, failing that,
Windows-1252 (what older Excel writes); `,` and `;` are the delimiters people's locales use.
XLSX is streamed (the sheet with expat, its workbook parts through openpyxl: tabular/xlsx.py) no
wider than the column limit, after its zip directory has been judged for bombs. Every refusal is
a `TableError` whose message names the row and what to do, and whose `code` lets a caller
translate or reword it.
"""

import codecs
import csv
import io
import itertools
import re
import tempfile
import zipfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, BinaryIO

from tabular.xlsx import xlsx_values

MB = 1024 * 1024
ZIP_MAGIC, OLE_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
GROUPED_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+")
DELIMITERS = (",", ";")


class TableError(ValueError):
    """A file that cannot be read as a table; `code` says which limit or problem (for callers)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        # missing | empty | too_large | xls | utf16 | encoding | csv | rows | columns | field | zip | xlsx
        self.code = code


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int  # non-blank rows, header and preamble included
    max_columns: int = 64
    max_field: int = 10_000  # characters in one cell
    max_unzipped: int = 160 * MB
    max_whole_part: int = 64 * MB  # an XLSX part openpyxl reads whole (shared strings, styles)
    max_ratio: int = 100  # real workbooks compress 5-20x; a bomb compresses 1000x
    max_members: int = 1_000


class _Source:
    """The bytes of a path or of memory, opened afresh for each pass."""

    def __init__(self, source: Path | bytes):
        self.path, self.data = (source, None) if isinstance(source, Path) else (None, source)

    def open(self) -> BinaryIO:
        return self.path.open("rb") if self.path is not None else io.BytesIO(self.data)

    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data)

    def head(self) -> bytes:
        with self.open() as handle:
            return handle.read(8)


class Table:
    """An opened CSV or XLSX file whose checked rows can be read (again) by delimiter."""

    def __init__(self, source: _Source, limits: Limits, *, spool: bool):
        self.source, self.limits = source, limits
        self.format = _format(source, limits)
        self.encoding = _encoding(source) if self.format == "csv" else ""
        self._spool = None
        if self.format == "xlsx" and spool:  # unzipping and XML cost more than CSV: read once, replay
            self._spool = _spooled(_checked(_xlsx_cells(source, limits), limits))

    def rows(self, delimiter: str = ",") -> Generator[tuple[int, list[str]]]:
        """Yield (row number as a spreadsheet counts it, cells) for every non-blank row."""
        if self._spool is not None:
            return _unspooled(self._spool)
        if self.format == "xlsx":
            return _checked(_xlsx_cells(self.source, self.limits), self.limits)
        return _checked(_csv_cells(self.source, self.encoding, delimiter, self.limits), self.limits)

    def delimiters(self) -> tuple[str, ...]:
        """The delimiters worth trying: both for CSV, none that matters for XLSX."""
        return DELIMITERS if self.format == "csv" else (",",)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def open_table(source: Path | bytes, *, limits: Limits, spool: bool = False) -> Table:
    """Open a path or bytes as a table, refusing what the limits or the content rule out."""
    return Table(_Source(source), limits, spool=spool)


def _format(source: _Source, limits: Limits) -> str:
    try:
        size, head = source.size(), source.head()
    except FileNotFoundError:
        raise TableError("no such file", code="missing") from None
    except OSError as exc:
        raise TableError(f"cannot read the file: {exc.strerror}", code="missing") from None
    if size == 0:
        raise TableError("the file is empty", code="empty")
    if size > limits.max_bytes:
        raise TableError(f"the file is larger than {limits.max_bytes // MB} MB", code="too_large")
    if head.startswith(OLE_MAGIC):
        raise TableError("an old Excel .xls workbook cannot be read: save it as XLSX or CSV (UTF-8)",
                         code="xls")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableError("the file is UTF-16 text: save it as CSV (UTF-8) or XLSX", code="utf16")
    return "xlsx" if head.startswith(ZIP_MAGIC) else "csv"


# ---- CSV --------------------------------------------------------------------------------------


def _encoding(source: _Source) -> str:
    """Return utf-8-sig when the whole file is UTF-8 (BOM or not), else cp1252 (old Excel exports)."""
    if _decodes(source, "utf-8"):
        return "utf-8-sig"
    _decodes(source, "cp1252", refuse=True)
    return "cp1252"


def _decodes(source: _Source, encoding: str, *, refuse: bool = False) -> bool:
    """Decode block by block; on a bad byte, return False or (``refuse``) say on which line."""
    decoder, line = codecs.getincrementaldecoder(encoding)(), 1
    with source.open() as handle:
        for block in itertools.chain(iter(lambda: handle.read(MB), b""), [b""]):
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                if not refuse:
                    return False
                line += block.count(b"\n", 0, max(exc.start, 0))
                problem = f"byte 0x{block[exc.start]:02x} is neither UTF-8 nor Windows-1252 text"
                advice = "save the file as CSV (UTF-8)"
                raise TableError(f"line {line}: {problem}; {advice}", code="encoding") from None
            line += block.count(b"\n")
    return True


def _csv_cells(source: _Source, encoding: str, delimiter: str, limits: Limits) -> Generator[list[str]]:
    number = 0
    with io.TextIOWrapper(source.open(), encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            for number, cells in enumerate(reader, start=1):  # noqa: B007 (read in the handlers)
                yield cells
        except csv.Error as exc:
            problem = f"not readable as CSV ({exc})"
            if "field larger than field limit" in str(exc):  # csv's own limit, above max_field
                problem = f"a field is longer than {limits.max_field:,} characters"
            raise TableError(f"row {number + 1}: {problem}", code="csv") from None


# ---- XLSX -------------------------------------------------------------------------------------


def xlsx_bomb_problem(source, *, limits: Limits) -> str | None:
    """Say why an XLSX (path or file object) must not be opened, judging the sizes its zip declares.

    zipfile never inflates a member past its declared size, so the declared sizes can be trusted.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return "not a readable XLSX workbook (the zip container is damaged)"
    unzipped = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    whole = max((m.file_size for m in members if not m.filename.startswith("xl/worksheets/")), default=0)
    too_dense = unzipped > MB and unzipped > limits.max_ratio * packed
    too_big = unzipped > limits.max_unzipped or whole > limits.max_whole_part
    if len(members) > limits.max_members or too_big or too_dense:
        return (
            f"the XLSX workbook would expand to {unzipped // MB:,} MB in {len(members):,} parts: refused "
            f"as a possible zip bomb (limits: {limits.max_unzipped // MB} MB in all, "
            f"{limits.max_whole_part // MB} MB for a part other than a sheet, "
            f"{limits.max_ratio}x compression)"
        )
    return None


def _xlsx_cells(source: _Source, limits: Limits) -> Generator[list[str]]:
    """Stream the first worksheet's rows as text, at most max_columns + 1 cells wide."""
    with source.open() as handle:
        problem = xlsx_bomb_problem(handle, limits=limits)
    if problem:
        raise TableError(problem, code="zip")
    try:
        rows = xlsx_values(source.path or io.BytesIO(source.data), max_col=limits.max_columns + 1)
    except Exception:  # openpyxl fails in many ways on damaged files; all mean the same here
        raise TableError("not a readable XLSX workbook", code="xlsx") from None
    try:
        # Stated dimensions can be wrong or hostile: rows are read as they are, and no wider than
        # needed to see that a row is too wide (a far-right cell would otherwise widen every row).
        for values in rows:
            yield [cell_text(value) for value in values]
    except Exception:  # a damaged sheet, shared-string table or zip member
        raise TableError("the XLSX workbook is damaged and cannot be read to the end", code="xlsx") from None
    finally:
        rows.close()


def cell_text(value: object) -> str:
    """Write a typed spreadsheet cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # ticket ids and whole amounts typed as numbers
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _spooled(rows: Iterable[tuple[int, list[str]]]) -> IO[str]:
    """Write checked rows to an anonymous temporary file, as CSV lines of (number, *cells)."""
    spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 (kept by Table)
    try:
        writer = csv.writer(spool)
        for number, cells in rows:
            writer.writerow([number, *cells])
    except BaseException:
        spool.close()
        raise
    return spool


def _unspooled(spool: IO[str]) -> Generator[tuple[int, list[str]]]:
    spool.seek(0)
    for number, *cells in csv.reader(spool):
        yield int(number), cells


# ---- Limits and values ------------------------------------------------------------------------


def _checked(rows: Iterator[list[str]], limits: Limits) -> Generator[tuple[int, list[str]]]:
    """Number the rows (as a spreadsheet does), skip blank ones and enforce the size limits."""
    counted = 0
    for number, cells in enumerate(rows, start=1):
        while cells and not cells[-1].strip():
            cells.pop()  # spreadsheet padding and trailing separators
        if not cells:
            continue
        counted += 1
        if counted > limits.max_rows:
            raise TableError(f"the file has more than {limits.max_rows:,} rows", code="rows")
        if len(cells) > limits.max_columns:
            raise TableError(f"row {number}: more than {limits.max_columns} columns", code="columns")
        if max(map(len, cells)) > limits.max_field:
            column = next(i for i, cell in enumerate(cells, 1) if len(cell) > limits.max_field)
            raise TableError(f"row {number}, column {column}: longer than {limits.max_field:,} characters",
                             code="field")
        yield number, cells


def decimal_text(value: str, decimal_comma: bool) -> str:
    """Turn "1,234.50", "1.234,50" and (where commas are decimal) "0,5" into a plain "1234.50"."""
    if "," in value and "." in value:
        comma_last = value.rindex(",") > value.rindex(".")
        return value.replace(".", "").replace(",", ".") if comma_last else value.replace(",", "")
    if "," in value:
        grouped = GROUPED_RE.fullmatch(value) and not decimal_comma
        return value.replace(",", "") if grouped else value.replace(",", ".")
    return value
