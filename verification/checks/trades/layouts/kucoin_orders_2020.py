"""KuCoin order history as exported until 2021 (oid, dealValue), fee in the quote, times in UTC+8."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts.kucoin import KUCOIN_ZONE, symbol_fill
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        yield symbol_fill(row, time="createdDate", symbol="symbol", side="direction",
                          amounts=("amount", "dealValue"), fee="fee", fee_asset=None, order="oid")


LAYOUT = Layout(
    name="kucoin_orders_2020", exchange="KuCoin", title="Order History (2020-21 layout)",
    header="oid,symbol,dealPrice,dealValue,amount,fee,direction,createdDate", parse=parse,
    optional=frozenset({"oid", "dealPrice"}), zone=KUCOIN_ZONE,
    where="Orders > Spot Order History > Export",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kucoin.py (KuCoin Trades v4)",
)
