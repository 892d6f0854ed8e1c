"""KuCoin spot order history as exported from 2023: one row per order, unfilled orders included."""

from collections.abc import Iterable, Iterator
from decimal import Decimal

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade
from verification.checks.trades.layouts.kucoin import KUCOIN_ZONE, symbol_fill
from verification.checks.trades.model import Fill, SkippedRow
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill | SkippedRow]:
    for row in records:
        if not row.decimal("Filled Amount", blank=Decimal(0)):
            yield not_a_trade(row, row.text("Status") or "not filled", reason="not_filled")
            continue
        yield symbol_fill(row, time="Filled Time(UTC+08:00)", symbol="Symbol", side="Side",
                          amounts=("Filled Amount", "Filled Volume"), fee="Fee", fee_asset="Fee Currency",
                          order="Order ID")


LAYOUT = Layout(
    name="kucoin_orders_2023", exchange="KuCoin", title="Spot Order History (2023 layout)",
    header="UID,Account Type,Order ID,Order Time(UTC+08:00),Symbol,Side,Order Type,Order Price,Order Amount,"
           "Avg. Filled Price,Filled Amount,Filled Volume,Filled Volume (USDT),Filled Time(UTC+08:00),Fee,"
           "Fee Currency,Tax,Status",
    parse=parse, optional=frozenset({"UID", "Account Type", "Order ID", "Order Type", "Order Price",
                                     "Avg. Filled Price", "Filled Volume (USDT)", "Tax"}),
    zone=KUCOIN_ZONE,
    where="Orders > Spot Orders > Order History > Export (or Account > Export data > Spot orders)",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kucoin.py (KuCoin Trades v5, orders)",
)
