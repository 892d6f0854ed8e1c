"""Read an export: bounded table (tabular), its layout found by header, rows into canonical trades.

Files are untrusted (docs/tabular.md): size, rows, columns, field length, zip expansion and text
encoding are bounded by the shared reader, and every refusal is a `TradeFileError` whose message
a reporter can act on and whose code picks the advice shown on the report page.
"""

import itertools
from collections.abc import Iterator
from datetime import tzinfo

from tabular import MB, Limits, TableError, open_table
from verification.checks.trades.layout import Layout, header_key
from verification.checks.trades.layouts import LAYOUTS
from verification.checks.trades.model import (
    Fill,
    ParsedExport,
    Skipped,
    SkippedRow,
    TradeFileError,
    legs_fill,
    merged_trades,
)
from verification.checks.trades.rows import Records

MAX_FILE_BYTES = 20 * MB
MAX_ROWS = 200_000  # non-blank rows of the file, preamble and header included
MAX_PREAMBLE = 20  # rows allowed before the header (Coinbase writes a few)
# A full 200,000-row sheet is 80-120 MB of XML; openpyxl streams it, but reads every other part whole.
LIMITS = {"max_columns": 64, "max_field": 10_000, "max_unzipped": 160 * MB, "max_whole_part": 64 * MB}


def parse_export(data: bytes, *, filename: str) -> ParsedExport:
    """Read a trade-history export (CSV or XLSX, told apart by content) into canonical trades."""
    try:
        table = open_table(data, limits=Limits(max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS, **LIMITS))
        layout, records = _records(table, LAYOUTS)
        export = _parsed(filename, layout, records)
    except TableError as exc:
        raise TradeFileError(str(exc), code=exc.code) from None
    except (ArithmeticError, IndexError, KeyError) as exc:  # a value no row check foresaw: still a refusal
        problem = f"a value could not be read ({type(exc).__name__})"
        raise TradeFileError(problem, code="malformed_row") from None
    return export


def _records(table, layouts) -> tuple[Layout, Records]:
    """Find the header with each delimiter in turn; a `;` file writes decimal commas."""
    problems: list[TableError] = []
    for delimiter in table.delimiters():
        rows = table.rows(delimiter)
        try:
            found = _find_header(rows, layouts)
        except TableError as exc:  # the wrong delimiter can trip over quotes the right one reads
            problems.append(exc)
            continue
        if found is not None:
            layout, columns, zones = found
            return layout, Records(rows, columns, delimiter == ";", zones)
    if problems:
        raise problems[0]
    raise unknown_layout(layouts)


def _find_header(rows: Iterator[tuple[int, list[str]]], layouts) -> tuple | None:
    """Find a known header among the first rows: the layout that names the most required columns."""
    for _, cells in itertools.islice(rows, MAX_PREAMBLE + 1):
        keys = [header_key(cell) for cell in cells]
        names = [key for key, _ in keys]
        fits = [layout for layout in layouts if layout.required <= set(names)]
        if fits:
            layout = max(fits, key=lambda fit: len(fit.required))
            return layout, *_positions(layout, names, [zone for _, zone in keys])
    return None


def _positions(layout: Layout, names: list[str], zones: list) -> tuple[dict[str, int], dict[str, tzinfo]]:
    columns, found = {}, {}
    for column in layout.columns:
        key = header_key(column)[0]
        if key in names:
            columns[column] = index = names.index(key)
            found[column] = zones[index] or layout.zone
    return columns, found


def unknown_layout(layouts) -> TradeFileError:
    expected = "; ".join(f"{layout.name}: {layout.header}" for layout in layouts)
    return TradeFileError(
        f"not a known trade-history export: no header found in the first {MAX_PREAMBLE + 1} rows. Expected a "
        f"CSV or XLSX file with one of these header rows: {expected}", code="unknown_layout")


def _parsed(filename: str, layout: Layout, records: Records) -> ParsedExport:
    fills, skipped, skipped_rows = [], [], []
    for item in layout.parse(records):
        if isinstance(item, SkippedRow):
            skipped_rows.append(item)
        elif isinstance(item, Fill):
            fills.append((item, [item.row]))
        elif isinstance(fill := legs_fill(item), Skipped):
            skipped.append(fill)
        else:
            fills.append((fill, item.rows))
    return ParsedExport(filename, layout.name, records.count, merged_trades(fills), skipped,
                        sorted(skipped_rows, key=lambda s: s.row))
