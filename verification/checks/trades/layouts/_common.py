"""Helpers the layouts share: splitting pairs, writing a fill by side, listing rows that are not trades."""

import functools
from datetime import datetime
from decimal import Decimal

from verification.checks.trades.model import Fill, SkippedRow
from verification.checks.trades.rows import Row

# Quote assets that end concatenated symbols such as BTCUSDT or 1INCHBUSD, longer before their own endings.
QUOTE_SUFFIXES = tuple(sorted(
    ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDS", "USDP", "BIDR", "IDRT", "BVND", "USD", "DAI", "PAX",
     "EUR", "GBP", "TRY", "BRL", "AUD", "RUB", "UAH", "NGN", "ZAR", "JPY", "BTC", "ETH", "BNB", "XRP", "TRX",
     "DOT", "DOGE"),
    key=len, reverse=True))


def split_symbol(row: Row, column: str, text: str | None = None) -> tuple[str, str]:
    """Split BTC-USDT, BTC/USDT, BTC_USDT or BTCUSDT into the base and quote the file names."""
    symbol = (row.required(column) if text is None else text).strip().upper()
    parts = _split(symbol)
    if parts is None:
        row.fail(column, f"not a pair of known quote: {symbol[:40]!r}")
    return row.asset(column, parts[0]), row.asset(column, parts[1])


@functools.lru_cache(maxsize=4096)  # an export holds a few symbols, written on every row
def _split(symbol: str) -> tuple[str, str] | None:
    for separator in ("/", "-", "_"):
        if separator in symbol:
            base, _, quote = symbol.partition(separator)
            return base, quote
    quote = next((q for q in QUOTE_SUFFIXES if symbol.endswith(q) and len(symbol) > len(q)), "")
    return (symbol[:-len(quote)], quote) if quote else None


def side_fill(row: Row, time: datetime, side: str, pair: tuple[str, str], amounts: tuple[Decimal, Decimal],
              fees: dict[str, Decimal], order: str = "") -> Fill:
    """Write a file's buy or sell of pair[0] against pair[1] as what was given and received."""
    base, quote = (pair[0], abs(amounts[0])), (pair[1], abs(amounts[1]))
    given, received = (quote, base) if side == "buy" else (base, quote)
    return Fill(row.number, time, given, received, {a: abs(v) for a, v in fees.items() if v}, order)


def not_a_trade(row: Row, detail: str, reason: str = "not_a_trade") -> SkippedRow:
    return SkippedRow(row.number, reason, detail[:60])
