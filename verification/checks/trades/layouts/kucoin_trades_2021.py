"""KuCoin trade history as exported in 2021-22 (camelCase API names), times in UTC+8."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts.kucoin import KUCOIN_ZONE, symbol_fill
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        yield symbol_fill(row, time="tradeCreatedAt", symbol="symbol", side="side", amounts=("size", "funds"),
                          fee="fee", fee_asset="feeCurrency", order="orderId")


LAYOUT = Layout(
    name="kucoin_trades_2021", exchange="KuCoin", title="Trade History (2021-22 layout)",
    header="tradeCreatedAt,orderId,symbol,side,price,size,funds,fee,liquidity,feeCurrency,orderType",
    parse=parse, optional=frozenset({"orderId", "price", "liquidity", "orderType"}), zone=KUCOIN_ZONE,
    where="Orders > Spot Trade History > Export (or Account > Download history)",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kucoin.py (KuCoin Trades v3)",
)
