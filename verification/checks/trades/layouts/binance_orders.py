"""Binance spot order history: one row per order, then its fills as indented detail rows."""

from collections.abc import Iterable, Iterator
from decimal import Decimal

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade, side_fill, split_symbol
from verification.checks.trades.model import Fill, SkippedRow
from verification.checks.trades.rows import FEE_RE, Row

FILLED = ("filled", "partially_filled", "partially filled")
# Detail rows are shifted one cell right: "", Date(UTC), Trading Price, Filled, Total, Fee.
DETAIL_FEE = 5


def parse(records: Iterable[Row]) -> Iterator[Fill | SkippedRow]:
    order: Fill | None = None
    for row in records:
        if row.cells and not row.cells[0].strip():
            yield from _detail(row, order)
            continue
        if order is not None:
            yield order
        order = _order(row)
        if isinstance(order, SkippedRow):
            yield order
            order = None
    if order is not None:
        yield order


def _order(row: Row) -> Fill | SkippedRow:
    status = row.text("status").lower()
    filled = row.decimal("Filled", blank=Decimal(0))
    if status not in FILLED or not filled:
        return not_a_trade(row, status or "not filled", reason="not_filled")
    side = row.side("Side") if row.text("Side") else row.side("Type")
    return side_fill(row, row.time("Date(UTC)"), side, split_symbol(row, "Pair"),
                     (filled, row.decimal("Total")), {}, row.text("OrderNo"))


def _detail(row: Row, order: Fill | None) -> Iterator[SkippedRow]:
    """Add a fill's fee ("0.00009936BNB") to its order; the detail row itself is listed as folded in."""
    text = row.cells[DETAIL_FEE].strip().upper().replace(" ", "") if len(row.cells) > DETAIL_FEE else ""
    match = FEE_RE.fullmatch(text)
    if order is not None and match:
        asset = row.asset("Fee", match[2])
        order.fees[asset] = order.fees.get(asset, Decimal(0)) + abs(row.decimal("Fee", match[1]))
    yield not_a_trade(row, "fill of the order above", reason="order_detail")


LAYOUT = Layout(
    name="binance_spot_orders", exchange="Binance", title="Spot Order History",
    header="Date(UTC),OrderNo,Pair,Type,Side,Order Price,Order Amount,AvgTrading Price,Filled,Total,"
           "Trigger Conditions,status",
    parse=parse, optional=frozenset({"OrderNo", "Side", "Order Price", "Order Amount", "AvgTrading Price",
                                     "Trigger Conditions"}),
    where="Orders > Spot Order > Order History > Export Order History",
    source="github.com/everytrade-io/everytrade-plugins (Binance CsvHeader \"Date(UTC)\",\"Pair\",\"Type\","
           "\"Order Price\",...,\"status\")",
)
