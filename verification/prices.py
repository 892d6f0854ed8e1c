"""Daily USD prices: reading the `date,symbol,usd` CSV and looking a price up."""

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

HEADER = ["date", "symbol", "usd"]
MAX_ROWS = 2_000_000
MAX_FIELD = 64
# What Price.usd (30 digits, 12 after the point) holds; PostgreSQL refuses or rounds to 0 outside it.
MIN_USD, MAX_USD = Decimal("1e-12"), Decimal("1e18")


class PriceFileError(ValueError):
    """A price file that cannot be imported; the message names the line."""


@dataclass(frozen=True)
class PriceRow:
    date: date
    symbol: str
    usd: Decimal


def read_price_file(path: Path) -> list[PriceRow]:
    """Parse and validate a whole price CSV; raise PriceFileError on the first bad line."""
    try:
        data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    except FileNotFoundError:
        raise PriceFileError(f"no such file: {path}") from None
    except OSError as exc:
        raise PriceFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PriceFileError(f"line {line}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return _parse(reader)
    except csv.Error as exc:
        raise PriceFileError(f"line {reader.line_num}: not readable as CSV: {exc}") from None


def _parse(reader) -> list[PriceRow]:
    header = next(reader, None)
    if header is None or [cell.strip().lower() for cell in header] != HEADER:
        raise PriceFileError(f"line 1: the header must be exactly {','.join(HEADER)}")
    rows: dict[tuple[str, date], PriceRow] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise PriceFileError(f"line {line}: more than {MAX_ROWS} prices in one file")
        row = _row(line, cells)
        key = (row.symbol, row.date)
        if key in rows and rows[key].usd != row.usd:
            raise PriceFileError(
                f"line {line}: a different price for {row.symbol} on {row.date} came earlier"
            )
        rows[key] = row
    return list(rows.values())


def _row(line: int, cells: list[str]) -> PriceRow:
    if len(cells) != 3:
        raise PriceFileError(f"line {line}: expected 3 fields (date,symbol,usd), found {len(cells)}")
    if any(len(cell) > MAX_FIELD for cell in cells):
        raise PriceFileError(f"line {line}: a field is longer than {MAX_FIELD} characters")
    raw_date, symbol, raw_usd = (cell.strip() for cell in cells)
    try:
        day = date.fromisoformat(raw_date)
    except ValueError:
        raise PriceFileError(f"line {line}: date {raw_date!r} is not YYYY-MM-DD") from None
    if not symbol or len(symbol) > 20 or not symbol.isprintable() or " " in symbol:
        raise PriceFileError(f"line {line}: symbol {symbol!r} is not a ticker symbol")
    try:
        usd = Decimal(raw_usd)
    except InvalidOperation:
        raise PriceFileError(f"line {line}: usd {raw_usd!r} is not a number") from None
    if not usd.is_finite() or usd <= 0:
        raise PriceFileError(f"line {line}: usd must be a positive number, got {raw_usd!r}")
    if not MIN_USD <= usd < MAX_USD:
        raise PriceFileError(f"line {line}: usd {raw_usd!r} is outside the range a price is stored in "
                             f"({MIN_USD} to {MAX_USD})")
    return PriceRow(date=day, symbol=symbol.upper(), usd=usd)
