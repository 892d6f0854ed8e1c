"""Read a crowdsourced sheet of loss reports (README.md, "Commands": import_reports) into checked rows.

CSV (UTF-8 with or without BOM, else Windows-1252; `,` or `;`) and XLSX, told apart by content,
read through the shared bounded reader (tabular/, docs/tabular.md): size, rows, columns, field
length and zip expansion are bounded, and breaking a bound is a `SheetError` for the whole file. A row that
cannot become a report is a `BadRow` naming its row number and every problem found in it.
Nothing here writes to the database: `SheetImport` reads the incident's reference data once and
sorts the rows into new, already present and bad; `incidents.services.reports_import` writes.
"""

import hashlib
import json
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email

from incidents.chains import EVM_ADDRESS_RE, normalise_address, normalise_caip2, normalise_tx_hash
from incidents.models import EvidenceKind, Exchange, Incident, Report, ReportSource
from incidents.secret_files import secret_check_cell, secret_check_file
from incidents.secrets import (
    LABEL_WORD,
    SHORT_SAFE,
    SecretRefused,
    secret_check_common,
    secret_check_text,
)
from incidents.uploads import XLSX, evidence_detect_type
from incidents.validation import ticket_id_clean
from tabular import Limits, TableError, decimal_text, open_table

COLUMNS = ("reporter", "contact_email", "exchange", "claimed_loss_usd", "loss_date", "chain",
           "victim_address", "tx_hashes", "support_ticket_id", "evidence_files", "police_report", "notes",
           "exchange_email")  # optional: the address the exchange writes to, when not the contact one
MB = 1024 * 1024
MAX_ROWS = 100_000  # rows under the header, blank rows not counted
MAX_COLUMNS = 64
MAX_FIELD = 10_000  # characters in one cell
MAX_FILE_BYTES = 256 * MB  # a 100,000-row sheet with long notes is about 50 MB
MAX_UNZIPPED_BYTES = 512 * MB
MAX_WHOLE_PART_BYTES = 128 * MB  # shared strings and the like, which openpyxl reads whole
MAX_ZIP_RATIO = 100  # real workbooks compress 5-20x; a bomb compresses 1000x
MAX_ZIP_MEMBERS = 1_000
MAX_AMOUNT = Decimal("1e18")  # Report.claimed_loss_usd holds 20 digits, 2 after the point
CENT = Decimal("0.01")

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HEADER_SPACE_RE = re.compile(r"[\s\-]+")
AMOUNT_NOISE_RE = re.compile(r"\s|US\$|USD|\$", re.IGNORECASE)
NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?")
ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]*(?:Z|[+-]\d{2}:?\d{2})?)?")
DMY_DATE_RE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
LIST_SPLIT_RE = re.compile(r"[;,\s]+")
HASH_SEGMENT_RE = re.compile(r"(0x)?[0-9a-fA-F]{64}")
# Django's own patterns: a cell they accept is an address without the validator's call; every
# other cell goes to the validator. Their bound ``match`` skips the lazy proxy on each call, and
# reuses Django's compiled pattern (compiling the domain pattern again costs 30 ms).
EMAIL_USER_MATCH = EmailValidator.user_regex.match
EMAIL_DOMAIN_MATCH = EmailValidator.domain_regex.match
MAP_ITEM_RE = re.compile(r"""\s*([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^,]*?))\s*(?:,|$)""")
# Evidence kind by detected content type (incidents.uploads.evidence_detect_type).
EVIDENCE_KINDS = {
    "message/rfc822": EvidenceKind.SUPPORT_EMAIL,
    "text/csv": EvidenceKind.TRADE_EXPORT,
    XLSX: EvidenceKind.TRADE_EXPORT,
    "application/pdf": EvidenceKind.POLICE_REPORT,
    "image/png": EvidenceKind.SCREENSHOT,
    "image/jpeg": EvidenceKind.SCREENSHOT,
}


class SheetError(ValueError):
    """The sheet, or the way it was asked to be read, is unusable as a whole; the message says why."""


@dataclass(frozen=True)
class BadRow:
    row: int
    reason: str


@dataclass(frozen=True)
class EvidenceFile:
    """A file a row cites, checked once; `read` returns its bytes if they have not changed since."""

    row: int
    name: str  # as the sheet spells it
    path: Path
    kind: str
    sha256: str

    def read(self) -> bytes:
        """Read the file again for storing, refusing it if it changed after it was checked."""
        try:
            data = _read_limited(self.path)
        except OSError as exc:
            raise SheetError(f"row {self.row}: evidence_files: {self.name!r} vanished while importing "
                             f"({exc.strerror})") from None
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise SheetError(f"row {self.row}: evidence_files: {self.name!r} changed while importing")
        return data


@dataclass
class SheetRow:
    """A good row: the Report fields, its transfer claims and the evidence it cites."""

    row: int
    fingerprint: str
    fields: dict
    claims: list[dict]
    evidence_names: list[str]
    evidence: list[EvidenceFile] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)  # "column: emptied, looked like a secret"


# ---- Options ----------------------------------------------------------------------------------


def parse_map(texts: list[str]) -> dict[str, str]:
    """Read `--map reporter=Name,tx_hashes="Tx links"` (repeatable) into {column: header}."""
    mapping: dict[str, str] = {}
    for text in texts:
        position = 0
        while position < len(text.rstrip()):
            match = MAP_ITEM_RE.match(text, position)
            if match is None or match.end() == position:
                raise SheetError(f'--map: cannot read {text[position:]!r}; write column=Header,'
                                 f'other="Header, with a comma"')
            column, header = match[1].lower(), next(g for g in match.groups()[1:] if g is not None)
            _check_mapping(column, header, mapping)
            mapping[column] = header
            position = match.end()
    return mapping


def _check_mapping(column: str, header: str, mapping: dict[str, str]) -> None:
    if column not in COLUMNS:
        raise SheetError(f"--map: {column!r} is not a column of the import; the columns are "
                         f"{', '.join(COLUMNS)}")
    if not header.strip():
        raise SheetError(f"--map: {column}= names no header")
    if _key(header) in {_key(other) for name, other in mapping.items() if name != column}:
        raise SheetError(f"--map: the header {header!r} is mapped to two columns")


# ---- Reading the file -------------------------------------------------------------------------


class Sheet:
    """An opened CSV or XLSX sheet: its header, the columns it provides, and its rows on demand."""

    def __init__(self, path: Path, *, mapping: dict[str, str] | None = None):
        self.path, self.name, self.mapping = path, path.name, mapping or {}
        self.folder = path.resolve().parent
        try:
            # openpyxl is slow: an XLSX sheet is read once, into a spool of checked rows read again later.
            self._table = open_table(path, limits=_limits(), spool=True)
        except TableError as exc:
            raise _sheet_error(exc) from None
        self.format, self.encoding = self._table.format, self._table.encoding
        self.delimiter, header = self._header()
        self.columns, self.ignored = _columns(header, self.mapping)
        # A `;` file comes from a locale that writes decimal commas: "1234,50".
        self.decimal_comma = self.delimiter == ";"

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, cells) for every non-blank row under the header, limits enforced."""
        rows = self._numbered()
        next(rows, None)  # the header, already read
        yield from rows

    def values(self, cells: list[str]) -> dict[str, str]:
        """Return the row's cells by canonical column name ("" for a missing cell)."""
        return {column: cells[i].strip() if i < len(cells) else "" for column, i in self.columns.items()}

    def _numbered(self, delimiter: str = "") -> Generator[tuple[int, list[str]]]:
        return _sheet_rows(self._table.rows(delimiter or self.delimiter))

    def _header(self) -> tuple[str, list[str]]:
        """Read the header row; for CSV, pick the delimiter under which it names more columns."""
        headers, errors = {}, []
        for delimiter in self._table.delimiters():
            try:
                headers[delimiter] = _first_row(self._numbered(delimiter))
            except SheetError as exc:  # the wrong delimiter can trip over quotes the right one reads
                errors.append(exc)
        wanted = _wanted(self.mapping)
        best = max(headers, key=lambda d: (_score(headers[d], wanted), len(headers[d]), d == ","), default="")
        if errors and (not headers or not _score(headers[best], wanted)):
            raise errors[0]
        return best, headers[best]


def _limits() -> Limits:
    # Read at call time: the header row counts against the table's limit, not the sheet's.
    return Limits(max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS,
                  max_field=MAX_FIELD, max_unzipped=MAX_UNZIPPED_BYTES, max_whole_part=MAX_WHOLE_PART_BYTES,
                  max_ratio=MAX_ZIP_RATIO, max_members=MAX_ZIP_MEMBERS)


def _sheet_error(exc: TableError) -> SheetError:
    if exc.code == "empty":
        return SheetError(f"the file is empty; expected a header row with columns such as "
                          f"{', '.join(COLUMNS)}")
    if exc.code == "rows":
        return SheetError(f"the sheet has more than {MAX_ROWS:,} rows under its header")
    return SheetError(str(exc))


def _sheet_rows(rows: Generator[tuple[int, list[str]]]) -> Generator[tuple[int, list[str]]]:
    try:
        yield from rows
    except TableError as exc:
        raise _sheet_error(exc) from None


def _first_row(rows: Generator[tuple[int, list[str]]]) -> list[str]:
    try:
        return next(rows, (1, []))[1]
    finally:
        rows.close()


# ---- Header -----------------------------------------------------------------------------------


def _key(header: str) -> str:
    """Compare headers loosely: case, surrounding space, inner spaces or dashes ("Contact email")."""
    return HEADER_SPACE_RE.sub("_", header.strip().lstrip("\ufeff").strip()).casefold()


def _wanted(mapping: dict[str, str]) -> dict[str, str]:
    """Return {header key: column}: mapped headers first, then each unmapped column's own name."""
    wanted = {_key(header): column for column, header in mapping.items()}
    for column in COLUMNS:
        if column not in mapping:
            wanted.setdefault(column, column)
    return wanted


def _score(header: list[str], wanted: dict[str, str]) -> int:
    return sum(_key(cell) in wanted for cell in header)


def _columns(header: list[str], mapping: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Return {column: index} for the columns the header provides, and the headers ignored."""
    wanted, columns, ignored = _wanted(mapping), {}, []
    for index, cell in enumerate(header):
        column = wanted.get(_key(cell))
        if column is None:
            ignored += [cell.strip()] if cell.strip() else []
        elif column in columns:
            raise SheetError(f"the header row names {column} twice "
                             f"(columns {columns[column] + 1} and {index + 1})")
        else:
            columns[column] = index
    for column, name in mapping.items():
        if column not in columns:
            raise SheetError(f"--map {column}={name!r}: the header row has no column {name!r}")
    if not columns:
        raise SheetError(f"the header row names none of the expected columns: {', '.join(COLUMNS)}; "
                         f'name them so, or map other headers with --map column=Header,other="Header 2"')
    return columns, ignored


# ---- Cell values (each parser returns the normalised value, or raises ValueError) -------------


@cache
def _max_length(field_name: str) -> int | None:
    return Report._meta.get_field(field_name).max_length


def _text(text: str, field_name: str) -> str:
    limit = _max_length(field_name)
    if limit and len(text) > limit:
        raise ValueError(f"longer than {limit} characters")
    return text


def _ticket(text: str, exchange: Exchange | None) -> str:
    """Read a ticket id as the form does: bare, in the exchange's format ("Ticket #12345678" → 12345678)."""
    try:
        return _text(ticket_id_clean(exchange=exchange, value=text), "support_ticket_id")
    except ValidationError as refused:
        raise ValueError(" ".join(refused.messages)) from None


def _email(text: str) -> str:
    if not text:
        return ""
    if not _plainly_email(text):
        try:
            validate_email(text)
        except ValidationError:
            raise ValueError(f"{text[:80]!r} is not an email address") from None
    return text.lower()  # reporters claim imported reports by their verified (lowercased) email


def _plainly_email(text: str) -> bool:
    """Accept what validate_email accepts through its user and domain patterns alone."""
    user, at, domain = text.rpartition("@")
    return bool(at and len(text) <= 320 and EMAIL_USER_MATCH(user) and EMAIL_DOMAIN_MATCH(domain))


def _amount(text: str, decimal_comma: bool) -> Decimal | None:
    """Read 1234.5, "$1,234.50", "1.234,50" (and "1234,50" in a `;` file) as USD rounded to cents."""
    if not text:
        return None
    value = decimal_text(AMOUNT_NOISE_RE.sub("", text), decimal_comma)
    if not NUMBER_RE.fullmatch(value):
        raise ValueError(f"{text[:40]!r} is not an amount such as 1234.50")
    amount = Decimal(value)
    if amount < 0:
        raise ValueError(f"{text[:40]!r} is negative")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"{text[:40]!r} is too large")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _date(text: str) -> date | None:
    """Read 2022-11-15 (or an ISO date-time) and day/month/year: 15/11/2022, 15.11.2022."""
    if not text:
        return None
    iso = ISO_DATE_RE.fullmatch(text)
    dmy = None if iso else DMY_DATE_RE.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if dmy:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
    except ValueError:
        pass
    raise ValueError(f"{text[:40]!r} is not a date such as 2022-11-15 or 15/11/2022")


def _bare_hash(token: str) -> str:
    """Return the hash itself, or the hash inside an explorer link (…/tx/0x…, …/tx/<hex>)."""
    if "/" not in token:
        return token
    parts = urlsplit(token if "://" in token else f"https://{token}")
    for segment in reversed(parts.path.split("/")):
        if HASH_SEGMENT_RE.fullmatch(segment):
            return segment
    raise ValueError(f"{token[:80]!r} is a link without a transaction hash in it")


def _tx_hashes(text: str, chain: str) -> list[str]:
    tokens = [token for token in LIST_SPLIT_RE.split(text) if token]
    if tokens and not chain:
        raise ValueError("transaction hashes need a chain in the chain column (CAIP-2, e.g. eip155:1)")
    hashes: list[str] = []
    for token in tokens:
        tx_hash = normalise_tx_hash(chain, _bare_hash(token))
        hashes += [] if tx_hash in hashes else [tx_hash]
    return hashes


def _victim_address(text: str, chain: str) -> str:
    if text and not chain:
        raise ValueError("an address needs a chain in the chain column (CAIP-2, e.g. eip155:1)")
    return normalise_address(chain, text) if text else ""


def _evidence_names(text: str) -> list[str]:
    names = [name.strip().replace("\\", "/") for name in text.split(";")]
    return sorted({name for name in names if name})


def _read_limited(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(settings.EVIDENCE_MAX_BYTES + 1)


# ---- Rows -------------------------------------------------------------------------------------


class _Cells:
    """One row's values; collects every problem instead of stopping at the first."""

    def __init__(self, values: dict[str, str], secret: Callable[[str, str], bool]):
        self.values, self.problems, self.emptied, self.secret = values, [], [], secret
        # Searched once for the row; only a row that has one is searched cell by cell.
        self.controls = CONTROL_RE.search("".join(values.values())) is not None

    def take(self, column: str, parse: Callable, *args):
        """Return the parsed value of ``column``, or None after noting why it could not be read."""
        text = self.values.get(column, "")
        if self.controls and CONTROL_RE.search(text):
            self.problems.append(f"{column}: contains control characters")
            return None
        if text and _may_be_secret(text) and self.secret(column, text):
            # The form and the API refuse it; an old sheet's row is kept, without the cell.
            self.emptied.append(f"{column}: emptied, looked like a secret")
            self.values[column] = text = ""
        try:
            return parse(text, *args)
        except ValueError as exc:
            self.problems.append(f"{column}: {exc}")
            return None


def _may_be_secret(text: str) -> bool:
    """Tell whether the secret rules could refuse ``text``: no rule matches shorter text without a label."""
    return len(text) >= SHORT_SAFE or LABEL_WORD.search(text) is not None


def _looks_secret(column: str, text: str) -> bool:
    """Apply the form's secret rules to a cell; a tx hash in its own column is a hash, never a secret."""
    if column == "victim_address" and EVM_ADDRESS_RE.fullmatch(text):
        # 42 characters hold no key block, WIF (51), xprv, label or twelve words; the one token in
        # them is an address, which the API-secret rule lets through: no rule can refuse it.
        return False
    try:
        if column == "tx_hashes":
            secret_check_cell(text, hashes=True)
        elif column == "evidence_files":
            secret_check_common(text)  # paths, which may be named after a file's sha256
        else:
            secret_check_text(text)
    except SecretRefused:
        return True
    return False


def _file_looks_secret(data: bytes, detected: str) -> bool:
    try:
        secret_check_file(data, detected_type=detected)
    except SecretRefused:
        return True
    return False


class SheetImport:
    """One sheet read against one incident: which rows are new, which already there, which bad."""

    def __init__(self, incident: Incident, sheet: Sheet, *, started: datetime):
        self.sheet, self.started = sheet, started
        self.exchanges = {exchange.name.casefold(): exchange for exchange in incident.exchanges.all()}
        self.chains = set(incident.chains.values_list("caip2", flat=True))
        reports = Report.objects.filter(incident=incident)
        self.fingerprints = set(reports.exclude(import_fingerprint="")
                                .values_list("import_fingerprint", flat=True))
        self.rows_taken = set(reports.filter(source=ReportSource.IMPORT, source_file=sheet.name)
                              .values_list("source_row", flat=True))
        self.present, self.bad, self.emptied, self.read, self.total = 0, [], [], 0, 0
        # The secret rules are pure: a value repeated down the sheet (an exchange, a date, a chain)
        # is judged once per import. Bounded, so that a sheet of unique values cannot grow it.
        self._secret = lru_cache(maxsize=4096)(_looks_secret)

    def check(self) -> None:
        """Read the whole file once without judging its rows: its size, rows and cells within bounds.

        The pass before anything is written, so that a whole-file error (too many rows, a field too
        long, a broken CSV quote) writes nothing; the rows themselves are checked once, in new_rows.
        """
        self.total = sum(1 for _ in self.sheet.rows())

    def new_rows(self) -> Iterator[SheetRow]:
        """Yield the rows to create, in sheet order; count those already present, list the bad."""
        self.present, self.bad, self.emptied, self.read = 0, [], [], 0
        seen, taken = set(self.fingerprints), set(self.rows_taken)
        for number, cells in self.sheet.rows():
            self.read += 1
            row = self._classify(number, cells, seen, taken)
            if row is None:
                self.present += 1
            elif isinstance(row, BadRow):
                self.bad.append(row)
            else:
                seen.add(row.fingerprint)
                taken.add(number)
                self.emptied += [f"row {number}: {note}" for note in row.emptied]
                yield row

    def _classify(self, number: int, cells: list[str], seen: set[str],
                  taken: set[int]) -> SheetRow | BadRow | None:
        """Return the row to create, why it is bad, or None when it is already present."""
        row = self._row(number, cells)
        if isinstance(row, BadRow):
            return row
        if row.fingerprint in seen:
            return None  # imported before, or a repeat of a row above
        if number in taken:
            return BadRow(number, f"{self.sheet.name}:{number} was imported before with other content; "
                                  f"import a changed sheet under a new file name")
        try:
            row.evidence = self._evidence(row)
        except ValueError as exc:
            return BadRow(number, f"evidence_files: {exc}")
        return row

    def _row(self, number: int, cells: list[str]) -> SheetRow | BadRow:
        values = self.sheet.values(cells)
        if not any(values.values()):
            return BadRow(number, f"nothing in the imported columns ({', '.join(self.sheet.columns)})")
        row = _Cells(values, self._secret)
        fields = self._fields(row)
        chain, victim, hashes = row.take("chain", self._chain), "", []
        if chain is not None:  # a bad chain says it all; its address and hashes cannot be judged
            victim = row.take("victim_address", _victim_address, chain) or ""
            hashes = row.take("tx_hashes", _tx_hashes, chain) or []
        evidence = row.take("evidence_files", _evidence_names) or []
        if row.problems:
            return BadRow(number, "; ".join(row.problems))
        if victim and not hashes:  # an address is kept on transfer claims; without one, in the notes
            fields["notes"] = "\n".join(filter(None, [fields["notes"], f"victim address: {chain} {victim}"]))
        exchange_email = fields.pop("exchange_email")
        # Kept out of the fingerprint when empty, so rows imported before the column existed are found again.
        content = [*fields.values(), chain, victim, sorted(hashes), evidence, *filter(None, [exchange_email])]
        fields["exchange_email"] = exchange_email or ""
        claims = [{"chain": chain, "tx_hash": tx_hash, "from_address": victim or ""} for tx_hash in hashes]
        fingerprint = _fingerprint(content)
        fields |= {"import_fingerprint": fingerprint, **self._origin(number)}
        return SheetRow(number, fingerprint, fields, claims, evidence, emptied=row.emptied)

    def _fields(self, row: _Cells) -> dict:
        exchange = row.take("exchange", self._exchange)
        return {
            "reporter_name": row.take("reporter", _text, "reporter_name"),
            "contact_email": row.take("contact_email", _email),
            "exchange": exchange,
            "claimed_loss_usd": row.take("claimed_loss_usd", _amount, self.sheet.decimal_comma),
            "loss_date": row.take("loss_date", _date),
            "support_ticket_id": row.take("support_ticket_id", _ticket, exchange),
            "police_report": row.take("police_report", _text, "police_report"),
            "notes": row.take("notes", _text, "notes"),
            "exchange_email": row.take("exchange_email", _email),
        }

    def _origin(self, number: int) -> dict:
        # Later in the sheet means submitted later (docs/methodology.md, "later"): one microsecond per row.
        return {"source_file": self.sheet.name, "source_row": number,
                "submitted_at": self.started + timedelta(microseconds=number)}

    def _exchange(self, text: str) -> Exchange | None:
        if not text:
            return None
        exchange = self.exchanges.get(text.casefold())
        if exchange is None:
            known = ", ".join(sorted(e.name for e in self.exchanges.values())) or "none"
            raise ValueError(f"{text[:80]!r} is not one of the incident's exchanges ({known})")
        return exchange

    def _chain(self, text: str) -> str:
        if not text:
            return ""
        chain = normalise_caip2(text)
        if chain not in self.chains:
            known = ", ".join(sorted(self.chains)) or "none"
            raise ValueError(f"{chain} is not one of the incident's chains ({known})")
        return chain

    def _evidence(self, row: SheetRow) -> list[EvidenceFile]:
        files: dict[str, EvidenceFile] = {}
        for name in row.evidence_names:
            path, data = self._evidence_bytes(name)
            detected = evidence_detect_type(data)
            kind = EVIDENCE_KINDS.get(detected)
            if kind is None:
                raise ValueError(f"{name!r} is not a file Lossproof accepts (a .eml mail, a CSV or XLSX "
                                 f"trade export, a PDF, a PNG or JPEG image)")
            if _file_looks_secret(data, detected):
                row.emptied.append(f"evidence_files: {name!r} left out, looked like a secret")
                continue
            digest = hashlib.sha256(data).hexdigest()
            files.setdefault(digest, EvidenceFile(row.row, name, path, kind, digest))
        return list(files.values())

    def _evidence_bytes(self, name: str) -> tuple[Path, bytes]:
        path = (self.sheet.folder / name).resolve()
        if not path.is_relative_to(self.sheet.folder):
            raise ValueError(f"{name!r} is outside the sheet's folder; evidence paths are relative to it")
        try:
            data = _read_limited(path)
        except OSError as exc:
            raise ValueError(f"{name!r} cannot be read ({exc.strerror})") from None
        if not data or len(data) > settings.EVIDENCE_MAX_BYTES:
            raise ValueError(f"{name!r} is empty or larger than {settings.EVIDENCE_MAX_BYTES:,} bytes")
        return path, data


_JSON = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(…, ensure_ascii=False) builds per call


def _fingerprint(content: list) -> str:
    """Return the sha256 of a row's normalised content: the same row imported twice is found again."""
    text = _JSON.encode([str(value) if value is not None else "" for value in content])
    return hashlib.sha256(text.encode()).hexdigest()
