"""The expat worksheet reader gives exactly what openpyxl's read-only iter_rows gives, cell for cell."""

import io
import zipfile
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest

from tabular.xlsx import xlsx_values

MAX_COL = 6
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def by_openpyxl(data: bytes) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = book.worksheets[0]
    sheet.reset_dimensions()
    return [_trimmed(row) for row in sheet.iter_rows(max_col=MAX_COL, values_only=True)]


def by_expat(data: bytes) -> list[list]:
    return [_trimmed(row) for row in xlsx_values(io.BytesIO(data), max_col=MAX_COL)]


def _trimmed(row) -> list:
    row = list(row)
    while row and row[-1] is None:
        row.pop()
    return row


def saved(book: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_reads_what_openpyxl_writes_typed_cells_gaps_and_all():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["text", 12345678, 1234.5, 0.1 + 0.2, True, None, "far"])
    sheet.append([date(2022, 11, 15), datetime(2022, 11, 15, 10, 30, 5), time(10, 30), timedelta(hours=30)])
    sheet.append(["=1+1", "  spaced  ", "line\nbreak", "é ü 李", 1e20, -0.0])
    sheet["C7"] = "after a gap of rows"
    sheet["F7"] = "x" * 300
    sheet["Z7"] = "past the last column read"

    data = saved(book)

    assert by_expat(data) == by_openpyxl(data)
    assert by_expat(data)[1][0] == datetime(2022, 11, 15, 0, 0) and len(by_expat(data)) == 7


def test_it_reads_the_1904_date_system():
    book = openpyxl.Workbook()
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    book.active.append([date(2022, 11, 15), 3.5])
    book.active["A1"].number_format = "yyyy-mm-dd"

    data = saved(book)

    assert by_expat(data) == by_openpyxl(data) == [[datetime(2022, 11, 15), 3.5]]


def workbook(sheet_xml: str, *, strings: str = "", styles: str = "") -> bytes:
    """A workbook as Excel writes it, around the given sheetData, shared strings and cell formats."""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
            '+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument'
            '.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument'
            '.spreadsheetml.styles+xml"/></Types>'),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:B2"/>'
            f'<x:sheetData>{sheet_xml}</x:sheetData></x:worksheet>'),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>',
        "xl/styles.xml": (
            f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
            '</numFmts><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1">'
            f'<border/></borders><cellXfs>{styles}</cellXfs></styleSheet>'),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


STRINGS = ('<si><t>plain</t></si>'
           '<si><r><rPr><b/></rPr><t>rich </t></r><r><t xml:space="preserve">text </t></r>'
           '<rPh sb="0" eb="1"><t>phonetic</t></rPh></si>'
           '<si><t>a &amp; b &lt;c&gt;</t></si><si><t/></si>')
STYLES = ('<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164"/>'
          '<xf numFmtId="46"/><xf numFmtId="20"/><xf numFmtId="2"/>')


def test_it_reads_shared_strings_rich_text_styles_and_the_cells_excel_writes():
    sheet = (
        '<x:row r="1" spans="1:6"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c>'
        '<x:c r="C1" t="s"><x:v>2</x:v></x:c><x:c r="D1" t="s"><x:v>3</x:v></x:c>'
        '<x:c r="E1" t="inlineStr"><x:is><x:r><x:t>in</x:t></x:r><x:r><x:t>line</x:t></x:r></x:is></x:c>'
        '</x:row>'
        '<x:row r="3"><x:c r="A3" s="1"><x:v>44880</x:v></x:c><x:c r="B3" s="2"><x:v>44880.5</x:v></x:c>'
        '<x:c r="C3" s="3"><x:v>1.25</x:v></x:c><x:c r="D3" s="4"><x:v>0.5</x:v></x:c>'
        '<x:c r="E3" s="5"><x:v>12.345</x:v></x:c><x:c r="F3" s="1"><x:v>99999999</x:v></x:c></x:row>'
        '<x:row><x:c t="b"><x:v>0</x:v></x:c><x:c t="e"><x:v>#N/A</x:v></x:c>'
        '<x:c t="str"><x:f>A1</x:f><x:v>formula text</x:v></x:c><x:c><x:f>1+1</x:f><x:v>2</x:v></x:c>'
        '<x:c t="d"><x:v>2022-11-15T10:00:00</x:v></x:c><x:c r="B4"><x:v>1E3</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="A2" t="str"><x:v>back</x:v></x:c></x:row>'
        '<x:row r="6.0"><x:c r="C6"/><x:c r="D6" t="inlineStr"/><x:c r="E6"><x:v></x:v></x:c></x:row>'
        '<x:row r="7"><x:c r="A7" t="inlineStr"><x:is><x:t>one</x:t></x:is></x:c>'
        '<x:c r="A7"><x:v>7</x:v></x:c><x:c r="H7"><x:v>8</x:v></x:c></x:row>'
    )

    data = workbook(sheet, strings=STRINGS, styles=STYLES)

    assert by_expat(data) == by_openpyxl(data)
    assert by_expat(data)[0] == ["plain", "rich text ", "a & b <c>", "", "inline"]


@pytest.mark.parametrize("sheet", [
    '<x:row r="1"><x:c r="A1" t="s"><x:v>9</x:v></x:c></x:row>',  # no such shared string
    '<x:row r="1"><x:c r="A1"><x:v>twelve</x:v></x:c></x:row>',  # not a number
    '<x:row r="1.5"><x:c r="A1"><x:v>1</x:v></x:c></x:row>',  # not a row number
])
def test_a_damaged_cell_fails_both_readers(sheet):
    data = workbook(sheet, strings=STRINGS, styles=STYLES)

    with pytest.raises((ValueError, IndexError)):
        by_openpyxl(data)
    with pytest.raises((ValueError, IndexError)):
        by_expat(data)


def test_a_sheet_declaring_a_doctype_is_refused():
    data = workbook("", strings=STRINGS, styles=STYLES)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + parts[sheet]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)

    with pytest.raises(ValueError, match="DOCTYPE"):
        by_expat(out.getvalue())
