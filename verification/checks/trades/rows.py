"""One data row of an export, read by column name into checked values (numbers, times, assets)."""

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import NoReturn

from tabular import decimal_text
from verification.checks.trades.model import TradeFileError

MAX_NUMBER = Decimal("1e18")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?")
NUMBERISH_RE = re.compile(r"[-+]?[\d.,]*\d[\d.,]*")
NUMBER_NOISE_RE = re.compile(r"[\s$€£]")
ASSET_RE = re.compile(r"[A-Z0-9]{1,20}")
FEE_RE = re.compile(r"([-+]?[\d.,]*\d)([A-Z][A-Z0-9]*)")  # "0.01BNB"
# Forms the exchanges write times in, besides ISO 8601: Binance's two-digit years, Bybit's time first.
TIME_FORMATS = ("%y-%m-%d %H:%M:%S", "%H:%M %Y-%m-%d", "%H:%M:%S %Y-%m-%d", "%m/%d/%Y %H:%M:%S",
                "%d/%m/%Y %H:%M:%S")


@dataclass
class Row:
    number: int
    values: dict[str, str]  # column name as the layout spells it -> cell text
    cells: list[str]  # the raw cells, for rows whose meaning is positional (Binance order details)
    decimal_comma: bool
    zones: dict[str, tzinfo] = field(default_factory=dict)  # column -> zone its naive times are in

    def text(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def fail(self, column: str, problem: str) -> NoReturn:
        raise TradeFileError(f"row {self.number}, column {column}: {problem}", code="malformed_row")

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            self.fail(column, "is empty")
        return value

    def decimal(self, column: str, text: str | None = None, *, blank: Decimal | None = None) -> Decimal:
        value = self.text(column) if text is None else text.strip()
        if not value and blank is not None:
            return blank
        if not value:
            self.fail(column, "is empty")
        number = parse_number(value, self.decimal_comma)
        if number is None:
            self.fail(column, f"not a number: {value[:40]!r}")
        return number

    def time(self, column: str) -> datetime:
        value = self.required(column)
        parsed = parse_time(value, self.zones.get(column, UTC))
        if parsed is None:
            self.fail(column, f"not a date and time: {value[:40]!r}")
        return parsed

    def asset(self, column: str, text: str | None = None) -> str:
        value = (self.required(column) if text is None else text.strip()).upper()
        if not ASSET_RE.fullmatch(value):
            self.fail(column, f"not an asset symbol: {value[:40]!r}")
        return sys.intern(value)

    def side(self, column: str) -> str:
        value = self.text(column).lower()
        if value not in ("buy", "sell"):
            self.fail(column, f"not buy or sell: {value[:40]!r}")
        return value


class Records:
    """The data rows under the header as `Row`s; counts what it hands out."""

    def __init__(self, rows: Iterator[tuple[int, list[str]]], columns: dict[str, int], decimal_comma: bool,
                 zones: dict[str, tzinfo]):
        self.rows, self.columns, self.decimal_comma, self.zones = rows, columns, decimal_comma, zones
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for number, cells in self.rows:
            _refuse_control(number, cells)
            self.count += 1
            values = {name: cells[i] if i < len(cells) else "" for name, i in self.columns.items()}
            yield Row(number, values, cells, self.decimal_comma, self.zones)


def _refuse_control(number: int, cells: list[str]) -> None:
    if CONTROL_RE.search("\t".join(cells)):
        column = next(i for i, cell in enumerate(cells, 1) if CONTROL_RE.search(cell))
        raise TradeFileError(f"row {number}, column {column}: contains control characters",
                             code="malformed_row")


def parse_number(text: str, decimal_comma: bool) -> Decimal | None:
    """Read 1234.5, "$1,234.50", -$3.10, 1.234,5 and (in `;` files) 0,5; None if not a number."""
    value = decimal_text(NUMBER_NOISE_RE.sub("", text), decimal_comma)
    if not NUMBER_RE.fullmatch(value):
        return None
    number = Decimal(value)
    return number if abs(number) <= MAX_NUMBER else None


def numberish(text: str) -> bool:
    return bool(NUMBERISH_RE.fullmatch(text))


def parse_time(text: str, zone: tzinfo = UTC) -> datetime | None:
    """Read the exports' timestamps; a time without offset is in `zone` (the header's, or UTC)."""
    value = text.removesuffix("UTC").strip()
    if len(value) <= 10:
        return None  # a date alone cannot place a trade in an hour
    parsed = _iso(value)
    for form in TIME_FORMATS if parsed is None else ():
        try:
            parsed = datetime.strptime(value, form)
            break
        except ValueError:
            continue
    if parsed is None:
        return None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 moved west of UTC, or year 9999 east of it
        return None


def _iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
