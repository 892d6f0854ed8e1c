"""The one bounded reader both importers use: its limits, encodings and formats, tested once."""

import codecs

import pytest

from tabular import Limits, TableError, decimal_text, open_table
from tests.verification.trade_files import xlsx_bytes, zip_bomb

LIMITS = Limits(max_bytes=1024 * 1024, max_rows=3, max_columns=4, max_field=10)


def rows(data: bytes, delimiter: str = ",", **kwargs) -> list[tuple[int, list[str]]]:
    return list(open_table(data, limits=kwargs.pop("limits", LIMITS), **kwargs).rows(delimiter))


def refusal(data: bytes, **kwargs) -> TableError:
    with pytest.raises(TableError) as caught:
        rows(data, **kwargs)
    return caught.value


def test_it_reads_utf8_with_and_without_bom_and_windows_1252_alike():
    expected = [(1, ["name", "note"]), (2, ["Ana", "café"])]

    assert rows("name,note\nAna,café\n".encode()) == expected
    assert rows(codecs.BOM_UTF8 + "name,note\nAna,café\n".encode()) == expected
    assert rows("name,note\nAna,café\n".encode("cp1252")) == expected


def test_it_numbers_rows_as_a_spreadsheet_does_and_skips_blank_ones():
    assert rows(b"a,b\n\n,,\n1,2,,\n") == [(1, ["a", "b"]), (4, ["1", "2"])]


@pytest.mark.parametrize(("data", "code", "message"), [
    (b"", "empty", "the file is empty"),
    (b"a\n1\n2\n3\n", "rows", "the file has more than 3 rows"),
    (b"a,b,c,d,e\n", "columns", "row 1: more than 4 columns"),
    (b"a,bbbbbbbbbbb\n", "field", "row 1, column 2: longer than 10 characters"),
    (b"a\n\x81\n", "encoding", "line 2: byte 0x81 is neither UTF-8 nor Windows-1252 text"),
    ("a\n".encode("utf-16"), "utf16", "the file is UTF-16 text"),
    (b"\xd0\xcf\x11\xe0" + bytes(8), "xls", "an old Excel .xls workbook cannot be read"),
    (b'a,"b\n', "csv", "row 1: not readable as CSV"),
])
def test_it_refuses_what_breaks_a_limit_with_a_code_and_a_message(data, code, message):
    error = refusal(data)

    assert error.code == code and str(error).startswith(message)


def test_it_refuses_a_file_over_the_size_limit_before_reading_it():
    assert refusal(b"a\n" * 600_000).code == "too_large"


def test_it_streams_an_xlsx_sheet_no_wider_than_the_limit_and_replays_a_spool():
    data = xlsx_bytes([["a", "b"], [1.0, 2.5]])
    table = open_table(data, limits=LIMITS, spool=True)

    assert list(table.rows()) == list(table.rows()) == [(1, ["a", "b"]), (2, ["1", "2.5"])]
    assert refusal(xlsx_bytes([["a", "b", "c", "d", "e", "f"]])).code == "columns"


def test_it_refuses_a_zip_bomb_from_its_directory_alone():
    assert refusal(zip_bomb(20), limits=Limits(max_bytes=10 * 1024 * 1024, max_rows=3)).code == "zip"


@pytest.mark.parametrize(("text", "decimal_comma", "expected"), [
    ("1,234.50", False, "1234.50"), ("1.234,50", False, "1234.50"), ("0,5", True, "0.5"),
    ("1,234", False, "1234"), ("1,234", True, "1.234"),
])
def test_it_reads_grouping_and_decimal_commas_the_same_way_for_both_importers(text, decimal_comma, expected):
    assert decimal_text(text, decimal_comma) == expected
