"""Kraken ledgers export: one row per balance change; a trade's rows share a refid, fees on either leg."""

from collections.abc import Iterable, Iterator
from decimal import Decimal

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts import kraken
from verification.checks.trades.layouts._common import not_a_trade
from verification.checks.trades.model import Legs, SkippedRow
from verification.checks.trades.rows import Row

TRADE_TYPES = frozenset({"trade", "spend", "receive"})


def parse(records: Iterable[Row]) -> Iterator[Legs | SkippedRow]:
    """Group trade, spend and receive entries by refid; other entries are not trades."""
    groups: dict[str, Legs] = {}
    for row in records:
        if row.text("type").lower() not in TRADE_TYPES:
            yield not_a_trade(row, row.text("type"))
            continue
        legs = groups.setdefault(row.required("refid"), Legs(row.number, row.time("time")))
        legs.add(row.number, kraken.asset(row, "asset", row.text("asset")), row.decimal("amount"),
                 row.decimal("fee", blank=Decimal(0)))
    yield from groups.values()


LAYOUT = Layout(
    name="kraken_ledgers", exchange="Kraken", title="Ledgers export",
    header="txid,refid,time,type,subtype,aclass,asset,amount,fee,balance", parse=parse,
    optional=frozenset({"txid", "subtype", "aclass", "balance"}),
    where="History > Export > Ledgers (CSV)",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kraken.py",
)
