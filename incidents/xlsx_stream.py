"""Stream the text of an XLSX workbook's cells within a byte and a time budget.

Read in the web process, on an upload nobody has checked yet: the zip-bomb guard runs first,
then every part is inflated in small blocks through an incremental XML parser, so memory stays
flat and a workbook that would take too long or inflate too far is refused, not read to the end.
"""

import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError, XMLPullParser

from django.utils.translation import gettext as _

from incidents.uploads import EvidenceFileError
from tabular import Limits, xlsx_bomb_problem

MB = 1024 * 1024
BLOCK = 64 * 1024
SHARED_STRINGS = "xl/sharedStrings.xml"
CELL_REF_RE = re.compile(r"([A-Z]{1,3})\d*")
# What the trade parser accepts (verification.checks.trades): a scan never refuses a workbook the
# parser would read, and the parser never reads one the scan skipped.
MAX_UNZIPPED = 160 * MB
MAX_WHOLE_PART = 64 * MB
MAX_RATIO = 100
MAX_MEMBERS = 1_000
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
                    max_whole_part=MAX_WHOLE_PART, max_ratio=MAX_RATIO, max_members=MAX_MEMBERS)
    problem = xlsx_bomb_problem(io.BytesIO(data), limits=limits)  # the one zip guard every reader shares
    if problem:
        raise EvidenceFileError(_("This workbook would unpack to far more than it holds, as a zip bomb "
                                  "does, and was refused. Export it again from the exchange."))


def _events(archive: zipfile.ZipFile, name: str, budget: Budget) -> Iterator[tuple[str, object]]:
    """Yield (event, element) pairs of one part, inflating it block by block."""
    parser = XMLPullParser(events=("start", "end"))
    try:
        with archive.open(name) as member:
            while block := member.read(BLOCK):
                budget.spend(len(block))
                if b"<!DOCTYPE" in block or b"<!ENTITY" in block:
                    raise EvidenceFileError(_("This workbook declares XML entities, which no spreadsheet "
                                              "program writes. Export it again from the exchange."))
                parser.feed(block)
                yield from parser.read_events()
        parser.close()
        yield from parser.read_events()
    except (ParseError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return  # a damaged part: the export parser refuses the file with its own message


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shared_strings(archive: zipfile.ZipFile, budget: Budget) -> list[str]:
    strings: list[str] = []
    root = None
    for event, element in _events(archive, SHARED_STRINGS, budget):
        tag = _local(element.tag)
        if event == "start":
            root = element if root is None else root
        elif tag == "si":
            strings.append("".join(element.itertext()))
            root.clear()  # keep memory flat: the string is kept, the element is not
            if len(strings) > MAX_SHARED_STRINGS:
                raise EvidenceFileError(_("This workbook holds more distinct texts than Lossproof reads "
                                          "from one file. Export a shorter period."))
    return strings


def _sheet_rows(archive: zipfile.ZipFile, name: str, shared: list[str],
                budget: Budget) -> Iterator[list[tuple[int, str]]]:
    container = None
    for event, element in _events(archive, name, budget):
        tag = _local(element.tag)
        if event == "start":
            container = element if tag == "sheetData" else container
        elif tag == "row":
            yield _row_texts(element, shared)
            if container is not None:
                container.clear()


def _row_texts(row, shared: list[str]) -> list[tuple[int, str]]:
    cells: list[tuple[int, str]] = []
    for position, cell in enumerate(c for c in row if _local(c.tag) == "c"):
        match = CELL_REF_RE.match(cell.get("r", ""))
        cells.append((_column_index(match[1]) if match else position, _cell_text(cell, shared)))
    return cells


def _cell_text(cell, shared: list[str]) -> str:
    value = next((child.text or "" for child in cell if _local(child.tag) == "v"), "")
    if cell.get("t") == "s":
        index = int(value) if value.isdigit() else -1
        return shared[index] if 0 <= index < len(shared) else ""
    if cell.get("t") == "inlineStr":
        return "".join(cell.itertext())
    return value


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _texts(archive: zipfile.ZipFile, name: str, budget: Budget) -> Iterator[str]:
    """Yield the text nodes of any other part (comments, drawings' text boxes)."""
    root = None
    for event, element in _events(archive, name, budget):
        root = element if root is None else root
        if event == "end" and element.text and element.text.strip():
            yield element.text
        if event == "end" and element is not root:
            element.clear()
