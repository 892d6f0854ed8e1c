"""Bybit spot trade history (unified account): the fee is in what was received (base on a buy)."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import side_fill, split_symbol
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        base, quote = split_symbol(row, "Spot Pairs")
        side = row.side("Direction")
        fees = {base if side == "buy" else quote: row.decimal("Fees", blank=0)}
        amounts = (row.decimal("Filled Quantity"), row.decimal("Filled Value"))
        yield side_fill(row, row.time("Timestamp (UTC)"), side, (base, quote), amounts, fees,
                        row.text("Order No."))


LAYOUT = Layout(
    name="bybit_spot", exchange="Bybit", title="Spot trade history",
    header="Spot Pairs,Order Type,Direction,Filled Value,Filled Price,Filled Quantity,Fees,Transaction ID,"
           "Order No.,Timestamp (UTC)",
    parse=parse, optional=frozenset({"Order Type", "Filled Price", "Transaction ID", "Order No."}),
    where="Orders > Spot Orders > Trade History > Export",
    source="",  # column list seen in an unnamed public note only; the fee asset rule is unconfirmed
)
