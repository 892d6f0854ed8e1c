"""Coinbase transaction history report, in its 2020, 2021-22 and 2023+ layouts (one parser, three headers).

Buys, sells and converts are trades; sends, receives, rewards and the like are listed as not trades.
The quote is the price currency, unless the note names another asset the trade was against: a convert
("Converted 1.5 ETH to 1,790 USDC") or an advanced trade between two crypto assets ("Bought 2 ETH for
0.13 BTC on ETH-BTC"), whose fiat subtotal is only Coinbase's valuation.
"""

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade, side_fill
from verification.checks.trades.model import Fill, SkippedRow
from verification.checks.trades.rows import Row

SIDES = {"buy": "buy", "sell": "sell", "convert": "sell",
         "advanced trade buy": "buy", "advance trade buy": "buy",
         "advanced trade sell": "sell", "advance trade sell": "sell"}
CONVERT_RE = re.compile(r"Converted\s+([\d.,]+)\s+(\S+)\s+to\s+([\d.,]+)\s+(\S+)", re.IGNORECASE)
AGAINST_RE = re.compile(r"(?:Bought|Sold)\s+[\d.,]+\s+\S+\s+for\s+([\d.,]+)\s+([A-Za-z0-9]+)\s+on\s",
                        re.IGNORECASE)
UNREAD = frozenset({"ID", "Spot Price at Transaction", "Price at Transaction",
                    "Total (inclusive of fees and/or spread)", "Total (inclusive of fees)"})
WHERE = "Profile > Statements (or Reports) > Transaction history > Generate report (CSV)"
SOURCE = "github.com/BittyTax/BittyTax src/bittytax/conv/parsers/coinbase.py"


def parse(records: Iterable[Row]) -> Iterator[Fill | SkippedRow]:
    for row in records:
        kind = row.text("Transaction Type")
        side = SIDES.get(kind.lower())
        yield not_a_trade(row, kind) if side is None else _fill(row, side)


def _fill(row: Row, side: str) -> Fill:
    currency = row.asset(_present(row, "Price Currency", "Spot Price Currency"))
    quote, quote_amount = _against(row, currency)
    fees = {currency: row.decimal(_present(row, "Fees and/or Spread", "Fees"), blank=Decimal(0))}
    return side_fill(row, row.time("Timestamp"), side, (row.asset("Asset"), quote),
                     (row.decimal("Quantity Transacted"), quote_amount), fees)


def _against(row: Row, currency: str) -> tuple[str, Decimal]:
    """Return the asset and amount the trade was really against (see the module's docstring)."""
    notes = row.text("Notes")
    if row.text("Transaction Type").lower() == "convert":
        match = CONVERT_RE.search(notes)
        if match is None:
            row.fail("Notes", "a convert whose note does not say 'Converted X A to Y B'")
        return row.asset("Notes", match[4]), row.decimal("Notes", match[3])
    match = AGAINST_RE.search(notes)
    if match and match[2].upper() != currency:
        return row.asset("Notes", match[2]), row.decimal("Notes", match[1])
    return currency, row.decimal("Subtotal")


def _present(row: Row, *columns: str) -> str:
    return next((column for column in columns if column in row.values), columns[-1])


LAYOUT_2020 = Layout(
    name="coinbase", exchange="Coinbase", title="Transaction history (2020-21, fees and/or spread)",
    header="Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,"
           "Spot Price at Transaction,"
           "Subtotal,Total (inclusive of fees and/or spread),Fees and/or Spread,Notes",
    parse=parse, optional=UNREAD, where=WHERE, source=SOURCE,
)
LAYOUT_2021 = Layout(
    name="coinbase_2021", exchange="Coinbase", title="Transaction history (2021-22)",
    header="Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,"
           "Spot Price at Transaction,"
           "Subtotal,Total (inclusive of fees),Fees,Notes",
    parse=parse, optional=UNREAD, where=WHERE, source=SOURCE,
)
LAYOUT_2023 = Layout(
    name="coinbase_2023", exchange="Coinbase", title="Transaction history (2023 and later)",
    header="ID,Timestamp,Transaction Type,Asset,Quantity Transacted,Price Currency,Price at Transaction,"
           "Subtotal,Total (inclusive of fees and/or spread),Fees and/or Spread,Notes",
    parse=parse, optional=UNREAD, where=WHERE, source=SOURCE,
)
