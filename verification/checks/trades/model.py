"""The canonical trade: one shape whatever the exchange file, so that records of the same trades match.

A pair is written BASE/QUOTE by one fixed rule (QUOTE_PRIORITY, then the alphabet), never as the
file wrote it: Kraken's ledger and its trades file, or Binance's pair written either way round,
give the same pair and side. Fees stay as separate legs (several assets allowed), and fills of one
order in one second are merged into one trade.
"""

import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Which asset of a trade is the quote: the first of these that the trade holds; fiat and stablecoins
# before the majors. Between two assets outside the list, the one later in the alphabet.
QUOTE_PRIORITY = ("USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "EUR", "GBP", "TRY", "BRL",
                  "AUD", "CAD", "JPY", "CHF", "BTC", "ETH", "BNB")


class TradeFileError(ValueError):
    """A trade export that cannot be read; the message says where and why, `code` what to advise."""

    def __init__(self, message: str, *, code: str = "unreadable"):
        super().__init__(message)
        self.code = code  # see incidents/guidance.py: each code has its advice to the reporter


@dataclass(frozen=True, slots=True)
class Trade:
    time: datetime  # UTC
    pair: str  # "BASE/QUOTE" by the fixed rule
    side: str  # "buy" | "sell": of the base asset
    base_asset: str
    base_amount: Decimal
    quote_asset: str
    quote_amount: Decimal  # before fees
    fees: tuple[tuple[str, Decimal], ...]  # (asset, amount) by asset, each paid on top
    row: int  # first row of the file (header and preamble counted) the trade was read from
    rows: tuple[int, ...] = ()  # every row merged into it

    @property
    def unit_price(self) -> Decimal:
        """Quote paid or received per unit of base."""
        return self.quote_amount / self.base_amount if self.base_amount else Decimal(0)


@dataclass(frozen=True)
class Skipped:
    """Ledger rows of one trade that are not one two-asset trade: listed with their legs, never guessed."""

    row: int
    time: datetime
    reason: str  # not_one_pair
    legs: dict[str, Decimal]
    fees: dict[str, Decimal] = field(default_factory=dict)
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class SkippedRow:
    """A row of the file that is not (part of) a trade, with why."""

    row: int
    reason: str  # not_a_trade | not_filled | not_spot | order_detail
    detail: str = ""


@dataclass
class Fill:
    """One execution as the file states it: what was given, what was received, the fees."""

    row: int
    time: datetime
    given: tuple[str, Decimal]
    received: tuple[str, Decimal]
    fees: dict[str, Decimal] = field(default_factory=dict)
    order: str = ""


@dataclass
class Legs:
    """What one trade moved, gathered from several ledger rows."""

    row: int
    time: datetime
    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    fees: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    rows: list[int] = field(default_factory=list)

    def add(self, row: int, asset: str, amount: Decimal, fee: Decimal = Decimal(0)) -> None:
        self.rows.append(row)
        self.amounts[asset] += amount
        if fee:
            self.fees[asset] += abs(fee)


@dataclass
class ParsedExport:
    filename: str
    format: str  # the layout's name (layouts/__init__.py)
    rows: int  # data rows under the header, blank rows not counted
    trades: list[Trade]
    skipped: list[Skipped] = field(default_factory=list)  # unpaired ledger groups
    skipped_rows: list[SkippedRow] = field(default_factory=list)  # rows that are not trades


RANK = {asset: rank for rank, asset in enumerate(QUOTE_PRIORITY)}


def quote_of(first: str, second: str) -> str:
    """Pick the quote of two assets by the fixed rule."""
    ranks = RANK.get(first, len(RANK)), RANK.get(second, len(RANK))
    if ranks[0] != ranks[1]:
        return first if ranks[0] < ranks[1] else second
    return max(first, second)


def fill_trade(fill: Fill, rows: Iterable[int] = ()) -> Trade:
    """Write one fill as a canonical trade."""
    (out, given), (into, received) = fill.given, fill.received
    quote = quote_of(out, into)
    side, base = ("buy", into) if quote == out else ("sell", out)
    base_amount, quote_amount = (received, given) if side == "buy" else (given, received)
    return Trade(time=fill.time, pair=sys.intern(f"{base}/{quote}"), side=side, base_asset=base,
                 base_amount=abs(base_amount), quote_asset=quote, quote_amount=abs(quote_amount),
                 fees=fee_legs(fill.fees), row=fill.row, rows=tuple(sorted(rows or [fill.row])))


def fee_legs(fees: dict[str, Decimal]) -> tuple[tuple[str, Decimal], ...]:
    return tuple(sorted((asset, abs(amount)) for asset, amount in fees.items() if amount))


def legs_fill(legs: Legs) -> Fill | Skipped:
    """Make one fill of one asset given and one received; anything else is listed as skipped."""
    given = [asset for asset, amount in legs.amounts.items() if amount < 0]
    received = [asset for asset, amount in legs.amounts.items() if amount > 0]
    if len(given) != 1 or len(received) != 1:
        return Skipped(legs.row, legs.time, "not_one_pair", dict(legs.amounts), dict(legs.fees),
                       tuple(sorted(legs.rows)))
    (out,), (into,) = given, received
    return Fill(legs.row, legs.time, (out, legs.amounts[out]), (into, legs.amounts[into]), dict(legs.fees))


def merged_trades(fills: Iterable[tuple[Fill, list[int]]]) -> list[Trade]:
    """Merge the fills of one order (or, without an order id, of one pair and side) in one second."""
    groups: dict[tuple, list[tuple[Fill, list[int]]]] = {}
    single: dict[tuple, Trade] = {}
    for fill, rows in fills:
        trade = fill_trade(fill, rows)
        key = (trade.time.replace(microsecond=0), trade.pair, trade.side, fill.order)
        groups.setdefault(key, []).append((fill, rows))
        single[key] = trade
    merged = (single[key] if len(group) == 1 else _merge(group) for key, group in groups.items())
    return sorted(merged, key=lambda t: (t.row, t.time))


def _merge(group: list[tuple[Fill, list[int]]]) -> Trade:
    first = group[0][0]
    given, received, fees = Decimal(0), Decimal(0), defaultdict(Decimal)
    for fill, _ in group:
        given += abs(fill.given[1])
        received += abs(fill.received[1])
        for asset, amount in fill.fees.items():
            fees[asset] += abs(amount)
    rows = [row for _, rows in group for row in rows]
    whole = Fill(min(rows), first.time, (first.given[0], given), (first.received[0], received), dict(fees))
    return fill_trade(whole, rows)
