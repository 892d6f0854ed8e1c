"""Coinbase Pro account statement: one row per balance change; a trade's match and fee rows share its id."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade
from verification.checks.trades.model import Legs, SkippedRow
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Legs | SkippedRow]:
    groups: dict[str, Legs] = {}
    for row in records:
        kind = row.text("type").lower()
        if kind not in ("match", "fee"):
            yield not_a_trade(row, row.text("type"))
            continue
        legs = groups.setdefault(row.required("trade id"), Legs(row.number, row.time("time")))
        asset, amount = row.asset("amount/balance unit"), row.decimal("amount")
        if kind == "fee":
            legs.add(row.number, asset, 0, amount)
        else:
            legs.add(row.number, asset, amount)
    yield from groups.values()


LAYOUT = Layout(
    name="coinbase_pro_account", exchange="Coinbase Pro", title="Account statement",
    header="portfolio,type,time,amount,balance,amount/balance unit,transfer id,trade id,order id",
    parse=parse, optional=frozenset({"portfolio", "balance", "transfer id", "order id"}),
    where="Coinbase Pro: Portfolios > Statements > Generate > Account (CSV); now under coinbase.com "
          "Profile > Statements > Coinbase Pro",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/coinbasepro.py",
)
