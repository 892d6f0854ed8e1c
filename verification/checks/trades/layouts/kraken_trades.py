"""Kraken trades export: one row per trade, fee in the quote currency."""

from collections.abc import Iterable, Iterator
from decimal import Decimal

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts import kraken
from verification.checks.trades.layouts._common import side_fill
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        base, quote = kraken.pair(row)
        fees = {quote: row.decimal("fee", blank=Decimal(0))}
        yield side_fill(row, row.time("time"), row.side("type"), (base, quote),
                        (row.decimal("vol"), row.decimal("cost")), fees, row.text("ordertxid"))


LAYOUT = Layout(
    name="kraken_trades", exchange="Kraken", title="Trades export",
    header="txid,ordertxid,pair,time,type,ordertype,price,cost,fee,vol,margin,misc,ledgers", parse=parse,
    optional=frozenset({"txid", "ordertxid", "ordertype", "price", "margin", "misc", "ledgers"}),
    where="History > Export > Trades (CSV)",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kraken.py",
)
