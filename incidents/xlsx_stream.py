"""Stream the text of an XLSX workbook's cells within a byte and a time budget.

Read in the web process, on an upload nobody has checked yet: the zip-bomb guard runs first,
then every part is inflated in blocks and read piece by piece (a row, a shared string), so memory
stays flat and a workbook that would take too long or inflate too far is refused, not read to the
end.
"""

import html
import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from incidents.uploads import EvidenceFileError
from tabular import Limits, xlsx_bomb_problem

MB = 1024 * 1024
BLOCK = 256 * 1024
SHARED_STRINGS = "xl/sharedStrings.xml"
MAX_PIECE = 16 * MB  # one row or shared string, unpacked
# Read with patterns rather than an XML parser: several times faster on 100,000-row exports, and
# what is looked for (cell texts, for a secret scan) needs no more. Tags may carry a prefix (x:c).
ROW_RE = re.compile(rb"<(?:[\w.-]+:)?row\b.*?</(?:[\w.-]+:)?row>", re.DOTALL)
CELL_RE = re.compile(rb"<(?:[\w.-]+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?c>)", re.DOTALL)
SHARED_ITEM_RE = re.compile(rb"<(?:[\w.-]+:)?si\b.*?</(?:[\w.-]+:)?si>", re.DOTALL)
TEXT_RE = re.compile(rb"<(?:[\w.-]+:)?(?:v|t)(?:\s[^>]*)?>([^<]*)<")
TAG_RE = re.compile(rb"<[^>]*>")
CELL_REF_RE = re.compile(rb'\br="([A-Z]{1,3})\d*"')
SHARED_TYPE_RE = re.compile(rb'\bt="s"')
# What the trade parser accepts (verification.checks.trades): a scan never refuses a workbook the
# parser would read, and the parser never reads one the scan skipped.
MAX_UNZIPPED = 160 * MB
MAX_WHOLE_PART = 64 * MB
MAX_RATIO = 100
MAX_ZIP_MEMBERS = 1_000
# Bytes actually inflated: zipfile stops at the declared sizes the guard judged, and this holds
# even if it did not.
MAX_SCANNED = MAX_UNZIPPED
MAX_SHARED_STRINGS = 1_000_000  # kept in memory to put cells in their columns
MAX_SECONDS = 20.0  # a 10 MB export inflates to about 100 MB of XML, read in a few seconds


@dataclass
class Budget:
    """Bytes still to inflate and the moment the scan must have ended."""

    bytes_left: int
    deadline: float

    def spend(self, count: int) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise EvidenceFileError(_("This workbook holds more data than Lossproof reads from one file "
                                      "(%(mb)s MB once unpacked). Export a shorter period.")
                                    % {"mb": MAX_SCANNED // MB})
        if time.monotonic() > self.deadline:
            raise EvidenceFileError(_("This workbook could not be checked in time. Save it again as a "
                                      "plain XLSX or CSV export and retry."))


def xlsx_rows(data: bytes) -> Iterator[list[tuple[int, str]]]:
    """Yield each worksheet row as (column index, text) pairs; then other parts' texts as rows of one."""
    _refuse_bomb(data)
    budget = Budget(MAX_SCANNED, time.monotonic() + MAX_SECONDS)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        shared = _shared_strings(archive, budget) if SHARED_STRINGS in names else []
        for name in names:
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                yield from _sheet_rows(archive, name, shared, budget)
        for name in names:
            if name.startswith("xl/") and name.endswith(".xml") and not _read_above(name):
                yield from ([(0, text)] for text in _texts(archive, name, budget))


def _read_above(name: str) -> bool:
    return name == SHARED_STRINGS or name.startswith("xl/worksheets/")


def _refuse_bomb(data: bytes) -> None:
    limits = Limits(max_bytes=len(data), max_rows=0, max_unzipped=MAX_UNZIPPED,
                    max_whole_part=MAX_WHOLE_PART, max_ratio=MAX_RATIO, max_members=MAX_ZIP_MEMBERS)
    problem = xlsx_bomb_problem(io.BytesIO(data), limits=limits)  # the one zip guard every reader shares
    if problem:
        raise EvidenceFileError(_("This workbook would unpack to far more than it holds, as a zip bomb "
                                  "does, and was refused. Export it again from the exchange."))


def _segments(archive: zipfile.ZipFile, name: str, budget: Budget, end: bytes) -> Iterator[bytes]:
    """Inflate one part block by block and yield it in pieces that end after an ``end`` tag."""
    tail = b""
    try:
        with archive.open(name) as member:
            while block := member.read(BLOCK):
                budget.spend(len(block))
                if b"<!DOCTYPE" in block or b"<!ENTITY" in block:
                    raise EvidenceFileError(_("This workbook declares XML entities, which no spreadsheet "
                                              "program writes. Export it again from the exchange."))
                tail += block
                cut = tail.rfind(end)
                if cut >= 0:
                    yield tail[:cut + len(end)]
                    tail = tail[cut + len(end):]
                elif len(tail) > MAX_PIECE:
                    raise EvidenceFileError(_("This workbook holds a row too long to check. Export it "
                                              "again from the exchange."))
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return  # a damaged part: the export parser refuses the file with its own message
    yield tail


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return html.unescape(text) if "&" in text else text


def _shared_strings(archive: zipfile.ZipFile, budget: Budget) -> list[str]:
    strings: list[str] = []
    for piece in _segments(archive, SHARED_STRINGS, budget, b"</si>"):
        strings += [_text(b"".join(TEXT_RE.findall(item))) for item in SHARED_ITEM_RE.findall(piece)]
        if len(strings) > MAX_SHARED_STRINGS:
            raise EvidenceFileError(_("This workbook holds more distinct texts than Lossproof reads "
                                      "from one file. Export a shorter period."))
    return strings


def _sheet_rows(archive: zipfile.ZipFile, name: str, shared: list[str],
                budget: Budget) -> Iterator[list[tuple[int, str]]]:
    for piece in _segments(archive, name, budget, b"</row>"):
        for row in ROW_RE.findall(piece):
            yield [_cell(position, attributes, body, shared)
                   for position, (attributes, body) in enumerate(CELL_RE.findall(row))]


def _cell(position: int, attributes: bytes, body: bytes, shared: list[str]) -> tuple[int, str]:
    reference = CELL_REF_RE.search(attributes)
    column = _column_index(reference[1].decode()) if reference else position
    value = b"".join(TEXT_RE.findall(body))
    if SHARED_TYPE_RE.search(attributes):
        index = int(value) if value.isdigit() else -1
        return column, shared[index] if 0 <= index < len(shared) else ""
    return column, _text(value)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _texts(archive: zipfile.ZipFile, name: str, budget: Budget) -> Iterator[str]:
    """Yield the texts of any other part (comments, drawings' text boxes), between its tags."""
    for piece in _segments(archive, name, budget, b">"):
        text = _text(TAG_RE.sub(b" ", piece)).strip()
        if text:
            yield text
