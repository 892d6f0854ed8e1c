"""Stream the first worksheet of an XLSX workbook as rows of values, as openpyxl reads them.

openpyxl's read-only worksheet builds an element and a dictionary per cell, and when a sheet
states no dimension (openpyxl's own writer leaves it out) it parses the whole sheet once more
just to size it. Here openpyxl still reads the workbook's parts (which sheet comes first, the
shared strings, the styles that make a number a date, the date system), and the sheet itself is
read once with expat: the values, rows and row numbers ReadOnlyWorksheet.iter_rows gives with
values_only (tests/tabular/test_xlsx.py compares both). A sheet declaring a DOCTYPE, which no
spreadsheet program writes, is refused as damaged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING
from xml.parsers import expat

if TYPE_CHECKING:
    from openpyxl.reader.excel import ExcelReader

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
TAGS = ("row", "c", "v", "is", "t", "r", "rPh")
ROW, CELL, VALUE, INLINE, TEXT, RUN, PHONETIC = (f"{NS}}}{tag}" for tag in TAGS)  # as expat names them
BLOCK = 256 * 1024


def xlsx_values(source, *, max_col: int) -> Iterator[list]:
    """Yield the first worksheet's rows (empty ones too, so that rows keep their numbers) as values.

    ``source`` is a path or a binary file; columns past ``max_col`` are left out, as iter_rows does.
    """
    # openpyxl is imported when a workbook is read: 0.15 s of every command's start otherwise
    # (import_reports reading a CSV, verify), for a module most runs never use.
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(source, read_only=True, data_only=True)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
    except Exception:
        reader.archive.close()
        raise
    return _rows(reader, max_col)


def _rows(reader: ExcelReader, max_col: int) -> Iterator[list]:
    try:
        with reader.archive.open(_first_worksheet(reader)) as part:
            yield from SheetParser(reader, max_col).rows(part)
    finally:
        reader.archive.close()


def _first_worksheet(reader: ExcelReader) -> str:
    """Return the part of the workbook's first worksheet, as Workbook.worksheets[0] finds it."""
    for _sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return rel.target
    raise ValueError("the workbook has no worksheet")


class SheetParser:
    """Read a worksheet part's rows with expat, converting cells as openpyxl's WorkSheetParser does."""

    def __init__(self, reader: ExcelReader, max_col: int):
        from openpyxl.utils.cell import coordinate_to_tuple
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        self.coordinate_to_tuple = coordinate_to_tuple
        self.from_excel, self.from_iso8601 = from_excel, from_ISO8601
        self.strings, self.max_col = reader.shared_strings, max_col
        self.epoch = reader.wb.epoch
        self.dates, self.durations = reader.wb._date_formats, reader.wb._timedelta_formats
        self.done: list[tuple[int, dict]] = []
        self.number, self.counter, self.cells, self.column, self.text = 0, 1, {}, 0, None
        self.cell: _Cell | None = None

    def rows(self, part: IO[bytes]) -> Iterator[list]:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartElementHandler, parser.EndElementHandler = self._start, self._end
        parser.CharacterDataHandler, parser.StartDoctypeDeclHandler = self._characters, _refuse_doctype
        while block := part.read(BLOCK):
            parser.Parse(block, False)
            yield from self._numbered()
        parser.Parse(b"", True)
        yield from self._numbered()

    def _numbered(self) -> Iterator[list]:
        """Yield the rows parsed so far, an empty one for each row number the sheet skips."""
        done, self.done = self.done, []
        for number, cells in done:
            while self.counter < number:
                self.counter += 1
                yield []
            if self.counter == number:  # a row repeating or going back a number is left out
                self.counter += 1
                yield self._values(cells)

    def _values(self, cells: dict) -> list:
        columns = [column for column in cells if 1 <= column <= self.max_col]
        values = [None] * max(columns, default=0)
        for column in columns:
            values[column - 1] = cells[column]
        return values

    def _start(self, name: str, attributes: dict) -> None:
        cell = self.cell
        if name == CELL:
            self.cell = self._cell(attributes)
        elif cell is None:
            if name == ROW:
                self.number, self.cells, self.column = _row_number(attributes, self.number), {}, 0
        elif name == VALUE and cell.inline is None:
            self.text = []
        else:
            self._start_inline(name, cell)

    def _start_inline(self, name: str, cell: _Cell) -> None:
        if name == INLINE:
            cell.inline, cell.plain, cell.runs, cell.depth = [], None, [], "is"
        elif cell.inline is None:
            return
        elif name == RUN and cell.depth == "is":
            cell.depth, cell.run = "r", None
        elif name == PHONETIC and cell.depth == "is":
            cell.depth = "rPh"
        elif name == TEXT and cell.depth in ("is", "r"):
            self.text = []

    def _cell(self, attributes: dict) -> _Cell:
        reference = attributes.get("r")
        self.column = self.coordinate_to_tuple(reference)[1] if reference else self.column + 1
        style = attributes.get("s", 0)
        return _Cell(attributes.get("t", "n"), int(style) if style else 0, self.column)

    def _characters(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def _end(self, name: str) -> None:
        cell = self.cell
        if name == ROW and cell is None:
            self.done.append((self.number, self.cells))
        elif cell is None:
            return
        elif name == CELL:
            self.cells[cell.column] = self._value(cell)
            self.cell = None
        elif self.text is not None and name in (VALUE, TEXT):
            cell.take("".join(self.text), name == VALUE)
            self.text = None
        else:
            cell.close(name)

    def _value(self, cell: _Cell):
        value = None if cell.type == "inlineStr" else cell.value or None
        if value is not None:
            return self._typed(cell, value)
        if cell.type == "inlineStr" and cell.inline is not None:
            return "".join(filter(None, [cell.plain, *cell.runs]))
        return None

    def _typed(self, cell: _Cell, value: str):
        if cell.type == "n":
            number = float(value) if "." in value or "E" in value or "e" in value else int(value)
            return self._date(number, cell.style) if cell.style in self.dates else number
        if cell.type == "s":
            return self.strings[int(value)]
        if cell.type == "b":
            return bool(int(value))
        if cell.type == "d":
            return self.from_iso8601(value)
        return value  # str (a formula's text), e (an error such as #N/A)

    def _date(self, number: float, style: int):
        try:
            return self.from_excel(number, self.epoch, timedelta=style in self.durations)
        except (OverflowError, ValueError):
            return "#VALUE!"  # what openpyxl makes of a date out of range


class _Cell:
    """One cell being read: its type, style, column, value and the pieces of an inline string."""

    __slots__ = ("column", "depth", "inline", "plain", "run", "runs", "style", "type", "value")

    def __init__(self, kind: str, style: int, column: int):
        self.type, self.style, self.column = kind, style, column
        self.value = self.inline = self.plain = self.run = None
        self.runs, self.depth = [], ""

    def take(self, text: str, is_value: bool) -> None:
        """Keep a value's text (the first <v>) or an inline string's text (the last <t> of its level)."""
        if is_value:
            self.value = text if self.value is None else self.value
        elif self.depth == "r":
            self.run = text
        else:
            self.plain = text

    def close(self, name: str) -> None:
        if name == RUN and self.depth == "r":
            self.runs.append(self.run)
            self.depth = "is"
        elif name == PHONETIC and self.depth == "rPh":
            self.depth = "is"
        elif name == INLINE and self.depth == "is":
            self.depth = "done"


def _row_number(attributes: dict, previous: int) -> int:
    """Read a row's number as openpyxl does: r="7" or r="7.0"; the next number when it has none."""
    if "r" not in attributes:
        return previous + 1
    try:
        return int(attributes["r"])
    except ValueError:
        number = float(attributes["r"])
        if not number.is_integer():
            raise ValueError(f"{attributes['r']} is not a valid row number") from None
        return int(number)


def _refuse_doctype(*args) -> None:
    raise ValueError("a worksheet declaring a DOCTYPE")
