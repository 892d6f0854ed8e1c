"""KuCoin spot trade history as exported from 2023: the header names the time zone ("UTC+08:00")."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts.kucoin import KUCOIN_ZONE, symbol_fill
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        yield symbol_fill(row, time="Filled Time(UTC+08:00)", symbol="Symbol", side="Side",
                          amounts=("Filled Amount", "Filled Volume"), fee="Fee", fee_asset="Fee Currency",
                          order="Order ID")


LAYOUT = Layout(
    name="kucoin_trades_2023", exchange="KuCoin", title="Spot Trade History (2023 layout)",
    header="UID,Account Type,Order ID,Symbol,Side,Order Type,Avg. Filled Price,Filled Amount,Filled Volume,"
           "Filled Volume (USDT),Filled Time(UTC+08:00),Fee,Tax,Maker/Taker,Fee Currency",
    parse=parse, optional=frozenset({"UID", "Account Type", "Order ID", "Order Type", "Avg. Filled Price",
                                     "Filled Volume (USDT)", "Tax"}),
    zone=KUCOIN_ZONE,
    where="Orders > Trade History > Export (or Account > Export data > Spot orders: filled orders)",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kucoin.py (KuCoin Trades v5)",
)
