"""Trade-history exports: read them, value the window's trades and judge the loss (DESIGN.md).

Five formats, CSV or XLSX, told apart by content (never by file name): Binance trade history,
Binance transaction history, Coinbase (older and newer export), Kraken ledgers and Kraken trades.
Every trade becomes one `Trade` with a BASE/QUOTE pair. Files are untrusted (QUALITY.md, "Bad
input"): size, rows, columns, field length, zip expansion and text encoding are bounded, and every
refusal is a `TradeFileError` whose message a reporter can act on.

The loss over the incident window is net: the USD value of everything the trades gave (fees
included) minus the value of everything they received, each leg at the daily price of the trade's
UTC date, floored at zero. Netting is what makes a chain of forced trades (BTC -> pumped coin ->
USDT) count once. A trade with any leg unpriced is listed as unpriced and left out of both sums,
never valued at zero. Pure functions: nothing here reads the network or the database.
"""

import codecs
import csv
import io
import itertools
import re
import sys
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from typing import NoReturn

import openpyxl

from verification.checks.transfers import CENTS, CheckOutcome
from verification.models import Outcome

MB = 1024 * 1024
MAX_FILE_BYTES = 20 * MB
MAX_ROWS = 200_000  # every row of the file, preamble and blank rows included
MAX_COLUMNS = 64
MAX_FIELD = 10_000  # characters in one cell
MAX_PREAMBLE = 20  # rows allowed before the header (Coinbase writes a few)
# A full 200,000-row sheet is 80-120 MB of XML; openpyxl streams it, but reads every other part whole.
MAX_UNZIPPED_BYTES = 160 * MB
MAX_WHOLE_PART_BYTES = 64 * MB  # shared strings, styles and the like
MAX_ZIP_RATIO = 100  # real workbooks compress 5-20x; a bomb compresses 1000x
MAX_ZIP_MEMBERS = 1_000
MAX_NUMBER = Decimal("1e18")
MAX_LISTED = 1_000  # trade rows kept in a check's raw data; matches are always all kept
ZIP_MAGIC, OLE_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
STABLE = ("USD", "USDT", "USDC", "BUSD", "DAI")
# Which asset of a two-asset trade is the quote when the file does not say (ledger-style files).
QUOTE_PRIORITY = ("USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "EUR", "GBP", "TRY", "BRL",
                  "AUD", "CAD", "JPY", "CHF", "BTC", "ETH", "BNB")

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?")
NUMBERISH_RE = re.compile(r"[-+]?[\d.,]*\d[\d.,]*")
GROUPED_RE = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+")
NUMBER_NOISE_RE = re.compile(r"[\s$€£]")
ASSET_RE = re.compile(r"[A-Z0-9]{1,20}")
FEE_RE = re.compile(r"([-+]?[\d.,]*\d)([A-Z][A-Z0-9]*)")
CONVERT_RE = re.compile(r"Converted\s+([\d.,]+)\s+(\S+)\s+to\s+([\d.,]+)\s+(\S+)", re.IGNORECASE)


class TradeFileError(ValueError):
    """A trade export that cannot be read; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Trade:
    time: datetime  # UTC
    pair: str  # "BASE/QUOTE"
    side: str  # "buy" | "sell": of the base asset
    base_asset: str
    base_amount: Decimal
    quote_asset: str
    quote_amount: Decimal  # before fees
    fee_asset: str  # "" when no fee
    fee_amount: Decimal
    row: int  # row of the file (header and preamble counted); the first row of a grouped trade


@dataclass(frozen=True)
class Skipped:
    """Trade rows that do not make one two-asset trade, listed rather than guessed at."""

    row: int
    time: datetime
    reason: str  # not_one_pair | several_fee_assets
    legs: dict[str, Decimal]


@dataclass
class ParsedExport:
    filename: str
    format: str  # binance_trades | binance_transactions | coinbase | kraken_ledgers | kraken_trades
    rows: int  # data rows under the header, blank rows not counted
    trades: list[Trade]
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class TradeValue:
    trade: Trade
    given_usd: Decimal  # the leg given plus the fee
    received_usd: Decimal
    fee_usd: Decimal
    loss_usd: Decimal  # given - received; negative is a gain
    prices: dict[str, Decimal]  # symbol -> USD price used


@dataclass(frozen=True)
class Unpriced:
    trade: Trade
    reason: str  # price_missing
    missing: list[str]  # symbols without a price on the trade's date


@dataclass
class TradeLoss:
    window_start: datetime
    window_end: datetime
    trades: list[Trade]  # every trade inside the window
    valued: list[TradeValue]
    unpriced: list[Unpriced]
    given_usd: Decimal
    received_usd: Decimal
    loss_usd: Decimal | None  # max(given - received, 0); None when no trade could be valued


@dataclass(frozen=True)
class SignatureEntry:
    pair: str
    hour: datetime
    victims: int


@dataclass(frozen=True)
class SignatureMatch:
    pair: str
    hour: datetime
    row: int
    time: datetime
    victims: int


@dataclass
class TradeFindings:
    outcomes: list[CheckOutcome]
    proven: bool
    matches: list[SignatureMatch]
    verified_loss_usd: Decimal | None = None  # the window's net loss, only when proven


# ---- Reading the file -------------------------------------------------------------------------


def parse_export(data: bytes, *, filename: str) -> ParsedExport:
    """Read a trade-history export (CSV or XLSX, told apart by content) into normalised trades."""
    if len(data) > MAX_FILE_BYTES:
        raise TradeFileError(f"the file is larger than {MAX_FILE_BYTES // MB} MB")
    if data.startswith(OLE_MAGIC):
        raise TradeFileError("an old Excel .xls workbook cannot be read: save it as XLSX or CSV (UTF-8)")
    if data.startswith(ZIP_MAGIC):
        (fmt, columns), rows, decimal_comma = _xlsx_source(data)
    else:
        (fmt, columns), rows, decimal_comma = _csv_source(data)
    records = _Records(rows, columns, decimal_comma)
    trades, skipped = fmt.parse(records)
    return ParsedExport(filename, fmt.name, records.count, trades, skipped)


def _csv_source(data: bytes) -> tuple[tuple["_Format", dict[str, int]], Iterator, bool]:
    """Find the header with `,` then `;` as delimiter; a `;` file writes decimal commas."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TradeFileError("the file is UTF-16 text: save it as CSV (UTF-8) or XLSX")
    body = data.removeprefix(codecs.BOM_UTF8)
    for delimiter in (",", ";"):
        rows = _checked(_csv_rows(_lines(body, len(data) - len(body)), delimiter))
        found = _find_header(rows)
        if found is not None:
            return found, rows, delimiter == ";"
    raise _unknown_format()


def _lines(body: bytes, offset: int) -> Iterator[str]:
    """Decode line by line, so memory stays flat and a bad byte is reported at its file offset."""
    for line in io.BytesIO(body):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TradeFileError(f"not UTF-8 text (invalid byte at offset {offset + exc.start})") from None
        offset += len(line)


def _csv_rows(lines: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    number = 0
    try:
        for cells in reader:
            number += 1
            yield cells
    except csv.Error as exc:
        problem = f"not readable as CSV ({exc})"
        if "field larger than field limit" in str(exc):  # csv's own limit, above MAX_FIELD
            problem = f"a field is longer than {MAX_FIELD:,} characters"
        raise TradeFileError(f"row {number + 1}: {problem}") from None


def _xlsx_source(data: bytes) -> tuple[tuple["_Format", dict[str, int]], Iterator, bool]:
    _refuse_zip_bomb(data)
    rows = _checked(_xlsx_rows(data))
    found = _find_header(rows)
    if found is None:
        raise _unknown_format()
    return found, rows, False


def _refuse_zip_bomb(data: bytes) -> None:
    problem = xlsx_bomb_problem(io.BytesIO(data))
    if problem:
        raise TradeFileError(problem)


def xlsx_bomb_problem(
    source, *, max_unzipped: int = MAX_UNZIPPED_BYTES, max_whole_part: int = MAX_WHOLE_PART_BYTES,
    max_ratio: int = MAX_ZIP_RATIO, max_members: int = MAX_ZIP_MEMBERS,
) -> str | None:
    """Say why an XLSX (path or file object) must not be opened, judging the sizes its zip declares.

    zipfile never inflates a member past its declared size, so the declared sizes can be trusted.
    Shared with the sheet importer (incidents.importers.sheet).
    """
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return "not a readable XLSX workbook (the zip container is damaged)"
    unzipped = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    whole = max((m.file_size for m in members if not m.filename.startswith("xl/worksheets/")), default=0)
    too_dense = unzipped > MB and unzipped > max_ratio * packed
    too_big = unzipped > max_unzipped or whole > max_whole_part
    if len(members) > max_members or too_big or too_dense:
        return (
            f"the XLSX workbook would expand to {unzipped // MB:,} MB in {len(members):,} parts: refused "
            f"as a possible zip bomb (limits: {max_unzipped // MB} MB in all, "
            f"{max_whole_part // MB} MB for a part other than a sheet, {max_ratio}x compression)"
        )
    return None


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """Stream the first sheet's rows as text, at most MAX_COLUMNS + 1 cells wide."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl fails in many ways on damaged files; all mean the same here
        raise TradeFileError("not a readable XLSX workbook") from None
    try:
        sheet = workbook.worksheets[0]
        # Stated dimensions can be wrong or hostile: read rows as they are, and no wider than needed
        # to see that a row is too wide (a far-right cell would otherwise widen every row).
        sheet.reset_dimensions()
        for values in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
            yield [_cell_text(value) for value in values]
    except Exception:  # a damaged sheet, shared-string table or zip member
        raise TradeFileError("the XLSX workbook is damaged and cannot be read to the end") from None
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _checked(rows: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Number the rows and enforce the row, column, field-length and control-character limits."""
    for number, cells in enumerate(rows, start=1):
        if number > MAX_ROWS:
            raise TradeFileError(f"the file has more than {MAX_ROWS:,} rows")
        while cells and not cells[-1]:
            cells.pop()  # spreadsheet padding and trailing separators
        if len(cells) > MAX_COLUMNS:
            raise TradeFileError(f"row {number}: more than {MAX_COLUMNS} columns")
        if cells and max(map(len, cells)) > MAX_FIELD:
            column = next(i for i, cell in enumerate(cells, 1) if len(cell) > MAX_FIELD)
            raise TradeFileError(f"row {number}, column {column}: longer than {MAX_FIELD:,} characters")
        if CONTROL_RE.search("\t".join(cells)):
            column = next(i for i, cell in enumerate(cells, 1) if CONTROL_RE.search(cell))
            raise TradeFileError(f"row {number}, column {column}: contains control characters")
        yield number, cells


def _find_header(rows: Iterator[tuple[int, list[str]]]) -> tuple["_Format", dict[str, int]] | None:
    """Find a known header among the first rows; return its format and column positions."""
    for _, cells in itertools.islice(rows, MAX_PREAMBLE + 1):
        names = [cell.strip().lstrip("\ufeff").lower() for cell in cells]
        for fmt in FORMATS:
            if fmt.required <= set(names):
                return fmt, {col: names.index(col.lower()) for col in fmt.columns if col.lower() in names}
    return None


def _unknown_format() -> TradeFileError:
    expected = "; ".join(f"{fmt.name}{f' ({fmt.version})' if fmt.version else ''}: {fmt.header}"
                         for fmt in FORMATS)
    return TradeFileError(
        f"not a known trade-history export: no header found in the first {MAX_PREAMBLE + 1} rows. Expected a "
        f"CSV or XLSX file with one of these header rows: {expected}"
    )


# ---- Rows and values --------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    values: dict[str, str]  # column name as the format spells it -> cell text
    decimal_comma: bool

    def text(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def fail(self, column: str, problem: str) -> NoReturn:
        raise TradeFileError(f"row {self.number}, column {column}: {problem}")

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
        number = _parse_number(value, self.decimal_comma)
        if number is None:
            self.fail(column, f"not a number: {value[:40]!r}")
        return number

    def time(self, column: str) -> datetime:
        value = self.required(column)
        parsed = _parse_time(value)
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


class _Records:
    """The data rows under the header as `_Row`s; counts what it hands out."""

    def __init__(self, rows: Iterator[tuple[int, list[str]]], columns: dict[str, int], decimal_comma: bool):
        self.rows, self.columns, self.decimal_comma = rows, columns, decimal_comma
        self.count = 0

    def __iter__(self) -> Iterator[_Row]:
        for number, cells in self.rows:
            if not any(cell.strip() for cell in cells):
                continue
            self.count += 1
            values = {name: cells[i] if i < len(cells) else "" for name, i in self.columns.items()}
            yield _Row(number, values, self.decimal_comma)


def _parse_number(text: str, decimal_comma: bool) -> Decimal | None:
    """Read 1234.5, "$1,234.50", -$3.10, 1.234,5 and (in `;` files) 0,5; None if not a number."""
    value = NUMBER_NOISE_RE.sub("", text)
    if "," in value and "." in value:
        comma_last = value.rindex(",") > value.rindex(".")
        value = value.replace(".", "").replace(",", ".") if comma_last else value.replace(",", "")
    elif "," in value:
        grouped = GROUPED_RE.fullmatch(value) and not decimal_comma
        value = value.replace(",", "") if grouped else value.replace(",", ".")
    if not NUMBER_RE.fullmatch(value):
        return None
    number = Decimal(value)
    return number if abs(number) <= MAX_NUMBER else None


def _parse_time(text: str) -> datetime | None:
    """Read the exports' UTC timestamps (ISO forms, " UTC" suffix, Binance's two-digit years)."""
    value = text.removesuffix("UTC").strip()
    if len(value) <= 10:
        return None  # a date alone cannot place a trade in an hour
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _trade(time: datetime, base: str, quote: str, side: str, amounts: tuple[Decimal, Decimal],
           fee: tuple[str, Decimal], row: int) -> Trade:
    return Trade(time=time, pair=sys.intern(f"{base}/{quote}"), side=side, base_asset=base,
                 base_amount=abs(amounts[0]), quote_asset=quote, quote_amount=abs(amounts[1]),
                 fee_asset=fee[0] if fee[1] else "", fee_amount=abs(fee[1]), row=row)


def _numberish(text: str) -> bool:
    return bool(NUMBERISH_RE.fullmatch(text))


# ---- Binance ----------------------------------------------------------------------------------


def _binance_trades(records: Iterable[_Row]) -> tuple[list[Trade], list[Skipped]]:
    return [_binance_trade(row) for row in records], []


def _binance_trade(row: _Row) -> Trade:
    executed = row.text("Executed").upper().replace(" ", "")
    amount = row.text("Amount").upper().replace(" ", "")
    base, quote = _binance_assets(row, row.required("Pair").upper(), executed, amount)
    amounts = (row.decimal("Executed", executed.removesuffix(base)),
               row.decimal("Amount", amount.removesuffix(quote)))
    return _trade(row.time("Date(UTC)"), base, quote, row.side("Side"), amounts,
                  _binance_fee(row, (base, quote)), row.number)


def _binance_assets(row: _Row, pair: str, executed: str, amount: str) -> tuple[str, str]:
    """Split BTCUSDT (or 1INCHUSDT) where Executed ends with the base and Amount with the quote."""
    if "/" in pair:
        base, _, quote = pair.partition("/")
        return row.asset("Pair", base), row.asset("Pair", quote)
    for cut in range(1, len(pair)):
        base, quote = pair[:cut], pair[cut:]
        if (executed.endswith(base) and amount.endswith(quote) and _numberish(executed[:-cut])
                and _numberish(amount[:-len(quote)])):
            return row.asset("Pair", base), row.asset("Pair", quote)
    row.fail("Executed", f"{executed[:40]!r} and {amount[:40]!r} do not name the assets of {pair[:40]!r}")


def _binance_fee(row: _Row, assets: tuple[str, str]) -> tuple[str, Decimal]:
    text = row.text("Fee").upper().replace(" ", "")
    for asset in assets:
        if text.endswith(asset) and _numberish(text[:-len(asset)]):
            return asset, row.decimal("Fee", text[:-len(asset)])
    if match := FEE_RE.fullmatch(text):
        return row.asset("Fee", match[2]), row.decimal("Fee", match[1])
    if row.decimal("Fee", text, blank=Decimal(0)) == 0:
        return "", Decimal(0)
    row.fail("Fee", f"a fee without its asset: {text[:40]!r}")


BINANCE_TRADE_OPERATIONS = frozenset({
    "buy", "sell", "transaction related", "transaction buy", "transaction spend", "transaction revenue",
    "transaction sold", "binance convert",
})
BINANCE_FEE_OPERATIONS = frozenset({"fee", "transaction fee"})


@dataclass
class _Legs:
    """What one trade moved, gathered from several ledger rows."""

    row: int
    time: datetime
    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    fees: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def _binance_transactions(records: Iterable[_Row]) -> tuple[list[Trade], list[Skipped]]:
    """Group the trade rows of one UTC_Time into one trade; deposits, withdrawals etc. are not trades."""
    groups: dict[datetime, _Legs] = {}
    for row in records:
        operation = row.text("Operation").lower()
        if operation not in BINANCE_TRADE_OPERATIONS | BINANCE_FEE_OPERATIONS:
            continue
        time = row.time("UTC_Time")
        legs = groups.setdefault(time, _Legs(row.number, time))
        coin, change = row.asset("Coin"), row.decimal("Change")
        if operation in BINANCE_FEE_OPERATIONS:
            legs.fees[coin] += abs(change)
        else:
            legs.amounts[coin] += change
    return _trades_from_legs(groups.values())


def _trades_from_legs(groups: Iterable[_Legs]) -> tuple[list[Trade], list[Skipped]]:
    trades, skipped = [], []
    for legs in groups:
        result = _legs_trade(legs)
        (trades if isinstance(result, Trade) else skipped).append(result)
    return trades, skipped


def _legs_trade(legs: _Legs) -> Trade | Skipped:
    """Make one trade of one asset given and one received; anything else is listed as skipped."""
    given = [asset for asset, amount in legs.amounts.items() if amount < 0]
    received = [asset for asset, amount in legs.amounts.items() if amount > 0]
    fees = [(asset, amount) for asset, amount in legs.fees.items() if amount]
    if len(given) != 1 or len(received) != 1:
        return Skipped(legs.row, legs.time, "not_one_pair", dict(legs.amounts))
    if len(fees) > 1:
        return Skipped(legs.row, legs.time, "several_fee_assets", dict(legs.amounts))
    (out,), (into,) = given, received
    rank = {asset: QUOTE_PRIORITY.index(asset) if asset in QUOTE_PRIORITY else len(QUOTE_PRIORITY)
            for asset in (out, into)}
    quote = out if rank[out] <= rank[into] else into  # a tie: paying with it makes it the quote
    base = into if quote == out else out
    side = "buy" if quote == out else "sell"
    amounts = (legs.amounts[base], legs.amounts[quote])
    return _trade(legs.time, base, quote, side, amounts, fees[0] if fees else ("", Decimal(0)), legs.row)


# ---- Coinbase ---------------------------------------------------------------------------------

COINBASE_SIDES = {"buy": "buy", "advanced trade buy": "buy", "sell": "sell", "advanced trade sell": "sell",
                  "convert": "sell"}


def _coinbase(records: Iterable[_Row]) -> tuple[list[Trade], list[Skipped]]:
    """Read buys, sells and converts; sends, receives, rewards and the like are not trades."""
    trades = []
    for row in records:
        side = COINBASE_SIDES.get(row.text("Transaction Type").lower())
        if side is not None:
            trades.append(_coinbase_trade(row, side))
    return trades, []


def _coinbase_trade(row: _Row, side: str) -> Trade:
    """The quote is the price currency; a convert's quote is the asset its note says it became."""
    currency = row.asset("Price Currency" if "Price Currency" in row.values else "Spot Price Currency")
    base, quote, quote_amount = row.asset("Asset"), currency, row.decimal("Subtotal")
    if row.text("Transaction Type").lower() == "convert":
        match = CONVERT_RE.search(row.text("Notes"))
        if match is None:
            row.fail("Notes", "a convert whose note does not say 'Converted X A to Y B'")
        quote, quote_amount = row.asset("Notes", match[4]), row.decimal("Notes", match[3])
    amounts = (row.decimal("Quantity Transacted"), quote_amount)
    fee = (currency, row.decimal("Fees and/or Spread", blank=Decimal(0)))
    return _trade(row.time("Timestamp"), base, quote, side, amounts, fee, row.number)


# ---- Kraken -----------------------------------------------------------------------------------

KRAKEN_ASSETS = {
    "XXBT": "BTC", "XBT": "BTC", "XETH": "ETH", "ETH2": "ETH", "XLTC": "LTC", "XXRP": "XRP", "XXLM": "XLM",
    "XXDG": "DOGE", "XDG": "DOGE", "XETC": "ETC", "XZEC": "ZEC", "XXMR": "XMR", "XREP": "REP", "XMLN": "MLN",
    "XXTZ": "XTZ", "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY", "ZCHF": "CHF",
    "ZAUD": "AUD",
}
# Plain quote suffixes of pairs such as XTZUSD or ADAXBT, longer before their own endings.
KRAKEN_QUOTES = ("USDT", "USDC", "PYUSD", "DAI", "USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "XBT",
                 "ETH", "DOT")
KRAKEN_TRADE_TYPES = frozenset({"trade", "spend", "receive"})


def _kraken_asset(row: _Row, column: str, code: str) -> str:
    """Map Kraken's codes (XXBT, ZUSD, ETH2.S, USD.HOLD) to the common symbol."""
    plain = code.strip().upper().split(".")[0]
    return row.asset(column, KRAKEN_ASSETS.get(plain, plain))


def _kraken_pair(row: _Row) -> tuple[str, str]:
    """Split XXBTZUSD, USDTZUSD, XTZUSD, ADAXBT or XBT/USD into base and quote."""
    text = row.required("pair").upper()
    if "/" in text:
        base, _, quote = text.partition("/")
    elif len(text) == 8 and text[4:] in KRAKEN_ASSETS:
        base, quote = text[:4], text[4:]
    else:
        quote = next((q for q in KRAKEN_QUOTES if text.endswith(q) and len(text) > len(q)), "")
        if not quote:
            row.fail("pair", f"not a pair of known quote: {text[:40]!r}")
        base = text[:-len(quote)]
    return _kraken_asset(row, "pair", base), _kraken_asset(row, "pair", quote)


def _kraken_trades(records: Iterable[_Row]) -> tuple[list[Trade], list[Skipped]]:
    return [_kraken_trade(row) for row in records], []


def _kraken_trade(row: _Row) -> Trade:
    """Kraken charges trade fees in the quote currency."""
    base, quote = _kraken_pair(row)
    amounts = (row.decimal("vol"), row.decimal("cost"))
    fee = (quote, row.decimal("fee", blank=Decimal(0)))
    return _trade(row.time("time"), base, quote, row.side("type"), amounts, fee, row.number)


def _kraken_ledgers(records: Iterable[_Row]) -> tuple[list[Trade], list[Skipped]]:
    """Group trade, spend and receive entries by refid; other entries are not trades."""
    groups: dict[str, _Legs] = {}
    for row in records:
        if row.text("type").lower() not in KRAKEN_TRADE_TYPES:
            continue
        refid = row.required("refid")
        legs = groups.setdefault(refid, _Legs(row.number, row.time("time")))
        asset = _kraken_asset(row, "asset", row.text("asset"))
        legs.amounts[asset] += row.decimal("amount")
        legs.fees[asset] += abs(row.decimal("fee", blank=Decimal(0)))
    return _trades_from_legs(groups.values())


# ---- The formats ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    name: str
    header: str  # the header row as the exchange writes it, comma-separated
    parse: Callable[[Iterable[_Row]], tuple[list[Trade], list[Skipped]]]
    optional: frozenset[str] = frozenset()  # columns older or trimmed exports may lack
    version: str = ""

    @property
    def columns(self) -> list[str]:
        return self.header.split(",")

    @property
    def required(self) -> set[str]:
        return {col.lower() for col in self.columns if col not in self.optional}


COINBASE_UNREAD = frozenset({"ID", "Spot Price at Transaction", "Price at Transaction",
                             "Total (inclusive of fees and/or spread)"})
FORMATS = (
    _Format("binance_trades", "Date(UTC),Pair,Side,Price,Executed,Amount,Fee", _binance_trades,
            frozenset({"Price"})),
    _Format("binance_transactions", "User_ID,UTC_Time,Account,Operation,Coin,Change,Remark",
            _binance_transactions, frozenset({"User_ID", "Account", "Remark"})),
    _Format("coinbase", "Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,"
            "Spot Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),"
            "Fees and/or Spread,Notes",
            _coinbase, COINBASE_UNREAD, version="older"),
    _Format("coinbase", "ID,Timestamp,Transaction Type,Asset,Quantity Transacted,Price Currency,"
            "Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),Fees and/or Spread,Notes",
            _coinbase, COINBASE_UNREAD, version="newer"),
    _Format("kraken_ledgers", "txid,refid,time,type,subtype,aclass,asset,amount,fee,balance", _kraken_ledgers,
            frozenset({"txid", "subtype", "aclass", "balance"})),
    _Format("kraken_trades", "txid,ordertxid,pair,time,type,ordertype,price,cost,fee,vol,margin,misc,ledgers",
            _kraken_trades,
            frozenset({"txid", "ordertxid", "ordertype", "price", "margin", "misc", "ledgers"})),
)


# ---- Valuing the window -----------------------------------------------------------------------


def trade_loss(
    *, trades: Iterable[Trade], window_start: datetime, window_end: datetime,
    prices: Mapping[tuple[str, date], Decimal], stable: Iterable[str] = STABLE,
) -> TradeLoss:
    """Value the trades inside the window (bounds included) and net what they gave against what they got."""
    inside = [trade for trade in trades if window_start <= trade.time <= window_end]
    valued, unpriced, stable_set = [], [], frozenset(stable)
    with localcontext() as context:
        context.prec = 60  # amount (up to 1e18) times price must not round before cents
        for trade in inside:
            result = _trade_value(trade, prices, stable_set)
            (valued if isinstance(result, TradeValue) else unpriced).append(result)
        given = sum((value.given_usd for value in valued), Decimal("0.00"))
        received = sum((value.received_usd for value in valued), Decimal("0.00"))
    loss = max(given - received, Decimal("0.00")) if valued else None
    return TradeLoss(window_start, window_end, inside, valued, unpriced, given, received, loss)


def _trade_value(
    trade: Trade, prices: Mapping[tuple[str, date], Decimal], stable: frozenset[str]
) -> TradeValue | Unpriced:
    """Value both legs and the fee at the day's price; any leg without a price leaves the trade unpriced."""
    if trade.side == "buy":
        legs = [(trade.quote_asset, trade.quote_amount), (trade.base_asset, trade.base_amount)]
    else:
        legs = [(trade.base_asset, trade.base_amount), (trade.quote_asset, trade.quote_amount)]
    if trade.fee_amount:
        legs.append((trade.fee_asset, trade.fee_amount))
    found = {asset: _usd_price(asset, trade.time.date(), prices, stable) for asset, _ in legs}
    missing = sorted(asset for asset, price in found.items() if price is None)
    if missing:
        return Unpriced(trade, "price_missing", missing)
    usd = [(amount * found[asset]).quantize(CENTS) for asset, amount in legs]
    fee = usd[2] if len(usd) > 2 else Decimal("0.00")
    return TradeValue(trade, usd[0] + fee, usd[1], fee, usd[0] + fee - usd[1], found)


def _usd_price(
    symbol: str, day: date, prices: Mapping[tuple[str, date], Decimal], stable: frozenset[str]
) -> Decimal | None:
    """The imported price first; a stablecoin (or USD) without one counts as one dollar."""
    price = prices.get((symbol, day))
    if price is None and symbol in stable:
        return Decimal(1)
    return price


# ---- Attack signature and the checks ----------------------------------------------------------


def attack_signature(
    victim_trades: Mapping[object, Iterable[Trade]], *, min_victims: int = 3
) -> list[SignatureEntry]:
    """Find the pairs that at least min_victims distinct victims traded within the same UTC hour."""
    victims: dict[tuple[str, datetime], set] = defaultdict(set)
    for victim, trades in victim_trades.items():
        for trade in trades:
            victims[(trade.pair, _hour(trade.time))].add(victim)
    entries = [SignatureEntry(pair, hour, len(who)) for (pair, hour), who in victims.items()
               if len(who) >= min_victims]
    return sorted(entries, key=lambda entry: (entry.hour, entry.pair))


def _hour(time: datetime) -> datetime:
    return time.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def trade_checks(
    *, export: ParsedExport, loss: TradeLoss, signature: Iterable[SignatureEntry],
    claimed_amount_usd: Decimal | None, tolerance: Decimal,
) -> TradeFindings:
    """Run export_parsed and trade_loss_consistent for one trade-loss claim."""
    matches = _signature_matches(loss.trades, signature)
    consistent = _trade_loss_consistent(loss, matches, claimed_amount_usd, tolerance)
    proven = consistent.outcome == Outcome.PASS
    return TradeFindings([_export_parsed(export, loss), consistent], proven, matches,
                         loss.loss_usd if proven else None)


def unreadable_export_checks(*, filename: str, error: TradeFileError) -> TradeFindings:
    """Record an export that could not be read: nothing about the loss can be judged."""
    raw = {"filename": filename, "error": str(error)}
    return TradeFindings([
        CheckOutcome("export_parsed", Outcome.FAIL, ["export_unreadable"], raw),
        CheckOutcome("trade_loss_consistent", Outcome.INCONCLUSIVE, ["export_unreadable"], {}),
    ], False, [])


def _signature_matches(trades: Iterable[Trade], signature: Iterable[SignatureEntry]) -> list[SignatureMatch]:
    entries = {(entry.pair, entry.hour): entry.victims for entry in signature}
    return [SignatureMatch(trade.pair, _hour(trade.time), trade.row, trade.time, entries[key])
            for trade in trades if (key := (trade.pair, _hour(trade.time))) in entries]


def _export_parsed(export: ParsedExport, loss: TradeLoss) -> CheckOutcome:
    raw = {"filename": export.filename, "format": export.format, "rows": export.rows,
           "trades": len(export.trades), "trades_in_window": len(loss.trades),
           "skipped": len(export.skipped),
           "skipped_rows": [_skipped_raw(skipped) for skipped in export.skipped[:MAX_LISTED]]}
    return CheckOutcome("export_parsed", Outcome.PASS, [], raw)


def _trade_loss_consistent(
    loss: TradeLoss, matches: list[SignatureMatch], claimed: Decimal | None, tolerance: Decimal
) -> CheckOutcome:
    """Pass a priced, positive loss that fits the attack signature or the claimed amount."""
    raw = _loss_raw(loss, matches, claimed, tolerance)
    if not loss.trades:
        return CheckOutcome("trade_loss_consistent", Outcome.FAIL, ["no_trades_in_window"], raw)
    if loss.loss_usd is None:
        return CheckOutcome("trade_loss_consistent", Outcome.INCONCLUSIVE, ["price_missing"], raw)
    if loss.loss_usd == 0:
        return CheckOutcome("trade_loss_consistent", Outcome.FAIL, ["no_loss"], raw)
    claim_fits = claimed is not None and abs(claimed - loss.loss_usd) <= loss.loss_usd * tolerance
    grounds = {"attack_signature": bool(matches), "claimed_amount": claim_fits}
    raw["grounds"] = [ground for ground, holds in grounds.items() if holds]
    if raw["grounds"]:
        return CheckOutcome("trade_loss_consistent", Outcome.PASS, [], raw)
    return CheckOutcome("trade_loss_consistent", Outcome.FAIL, ["no_signature_match"], raw)


# ---- Raw data for the stored check results (JSON: Decimals and times as strings) ---------------


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _loss_raw(
    loss: TradeLoss, matches: list[SignatureMatch], claimed: Decimal | None, tolerance: Decimal
) -> dict:
    return {
        "window_start": loss.window_start.isoformat(), "window_end": loss.window_end.isoformat(),
        "loss_usd": _money(loss.loss_usd), "given_usd": str(loss.given_usd),
        "received_usd": str(loss.received_usd),
        "claimed_usd": _money(claimed), "tolerance": str(tolerance), "grounds": [],
        "matches": [{"pair": m.pair, "hour": m.hour.isoformat(), "row": m.row, "time": m.time.isoformat(),
                     "victims": m.victims} for m in matches],
        "trades_valued": len(loss.valued), "trades_unpriced": len(loss.unpriced),
        "valued": [_value_raw(value) for value in loss.valued[:MAX_LISTED]],
        "unpriced": [{**_trade_raw(u.trade), "reason": u.reason, "missing": u.missing}
                     for u in loss.unpriced[:MAX_LISTED]],
    }


def _trade_raw(trade: Trade) -> dict:
    return {"row": trade.row, "time": trade.time.isoformat(), "pair": trade.pair, "side": trade.side,
            "base_amount": str(trade.base_amount), "quote_amount": str(trade.quote_amount),
            "fee_asset": trade.fee_asset, "fee_amount": str(trade.fee_amount)}


def _value_raw(value: TradeValue) -> dict:
    return {**_trade_raw(value.trade), "given_usd": str(value.given_usd),
            "received_usd": str(value.received_usd), "fee_usd": str(value.fee_usd),
            "loss_usd": str(value.loss_usd),
            "prices": {symbol: str(price) for symbol, price in value.prices.items()}}


def _skipped_raw(skipped: Skipped) -> dict:
    return {"row": skipped.row, "time": skipped.time.isoformat(), "reason": skipped.reason,
            "legs": {asset: str(amount) for asset, amount in skipped.legs.items()}}
